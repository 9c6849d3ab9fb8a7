using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using k8s.Models;

namespace K8sTraining.Operator.Pods;

/// <summary>
/// The headless Service of a multi-worker job (<see cref="PodNames.ServiceFor"/>): the workers' subdomain, so worker R
/// resolves as <c>&lt;pod&gt;.&lt;service&gt;</c> from the moment it is created (publishNotReadyAddresses: the rendezvous
/// happens before any worker is Ready). One per job, owned by it, kept across attempts.
/// </summary>
public static class WorkerService
{
    public static V1Service Build(TrainingJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return new V1Service
        {
            ApiVersion = "v1",
            Kind = "Service",
            Metadata = new V1ObjectMeta
            {
                Name = PodNames.ServiceFor(job.Metadata.Name),
                NamespaceProperty = job.Metadata.NamespaceProperty,
                Labels = new Dictionary<string, string>
                {
                    [WellKnown.JobNameLabel] = PodNames.LabelValue(job.Metadata.Name),
                    [WellKnown.ManagedByLabel] = WellKnown.ManagedBy,
                },
                OwnerReferences = [TrainerPodBuilder.OwnerReference(job)],
            },
            Spec = new V1ServiceSpec
            {
                ClusterIP = "None",
                PublishNotReadyAddresses = true,
                Selector = new Dictionary<string, string> { [WellKnown.JobNameLabel] = PodNames.LabelValue(job.Metadata.Name) },
                Ports = [new V1ServicePort { Name = WellKnown.RendezvousPortName, Port = DistributedEnvironment.DefaultMasterPort, TargetPort = DistributedEnvironment.DefaultMasterPort, Protocol = "TCP" }],
            },
        };
    }

    /// <summary>Whether <paramref name="service"/> is the job's own (its controller is the job).</summary>
    public static bool IsOwnedBy(V1Service service, TrainingJob job) =>
        service.Metadata?.OwnerReferences?.Any(o => o.Controller == true && o.Uid == job.Metadata.Uid) == true;

    /// <summary>Whether a Service found with the name may be adopted: it has no controller at all.</summary>
    public static bool Adoptable(V1Service service) =>
        service.Metadata?.OwnerReferences?.Any(o => o.Controller == true) != true;
}
