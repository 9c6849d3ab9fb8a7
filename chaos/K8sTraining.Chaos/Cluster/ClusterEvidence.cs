using K8sTraining.Chaos.Runner;
using K8sTraining.ClusterSupport;
using k8s;

namespace K8sTraining.Chaos.Cluster;

/// <summary>
/// What a cluster scenario leaves to read: every Event and TrainingJob (status included) of a namespace, and every
/// operator's log and /metrics scrape. All of it goes to the secrets scan: none may hold the S3 secret's value.
/// </summary>
public static class ClusterEvidence
{
    public static async Task CollectAsync(ChaosContext context, LocalTestCluster cluster, string ns, IEnumerable<OperatorProcess> operators)
    {
        foreach (var op in operators)
        {
            if (!op.HasExited)
            {
                context.Produced($"operator {op.Identity} /metrics ({ns})", await op.MetricsAsync());
            }
            context.Produced($"operator {op.Identity} log ({ns})", op.Output);
        }
        try
        {
            foreach (var e in await cluster.EventsAsync(ns))
            {
                context.Produced($"Event {ns}/{e.Metadata.Name}", $"{e.Reason} {e.Message} {KubernetesJson.Serialize(e)}");
            }
            foreach (var job in await cluster.JobsAsync(ns))
            {
                context.Produced($"TrainingJob {ns}/{job.Metadata.Name}", KubernetesJson.Serialize(job));
            }
            foreach (var pod in await cluster.PodsAsync(ns))
            {
                // A pod's termination messages are what the operator read; its spec must reference the Secret, never hold it.
                context.Produced($"Pod {ns}/{pod.Metadata.Name}", KubernetesJson.Serialize(pod));
            }
        }
        catch (k8s.Autorest.HttpOperationException e)
        {
            context.Produced($"listing {ns} failed", e.Message);
        }
    }
}
