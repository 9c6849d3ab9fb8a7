using System.Globalization;

namespace K8sTraining.Operator.Pods;

/// <summary>
/// The labels and annotations that let a gang scheduler place all workers of an attempt at once, or none:
/// Kueue's plain-pod groups (label <see cref="KueueGroupName"/> = the attempt, <see cref="KueueTotalCount"/> = workers;
/// a pod group per attempt, since Kueue finishes a group when its pods end), Volcano (annotation
/// <see cref="VolcanoGroupName"/>) and the scheduler-plugins coscheduling plugin (label <see cref="CoschedulingGroup"/>),
/// both naming one PodGroup per job, <c>&lt;job&gt;-workers</c>, which the user creates with minMember = workers.
/// </summary>
public static class PodGroupMetadata
{
    public const string KueueGroupName = "kueue.x-k8s.io/pod-group-name";
    public const string KueueTotalCount = "kueue.x-k8s.io/pod-group-total-count";
    public const string VolcanoGroupName = "scheduling.k8s.io/group-name";
    public const string CoschedulingGroup = "scheduling.x-k8s.io/pod-group";

    public static IReadOnlyDictionary<string, string> Labels(string jobName, int attempt) => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [KueueGroupName] = PodNames.ForAttempt(jobName, attempt),
        [CoschedulingGroup] = PodNames.ServiceFor(jobName),
    };

    public static IReadOnlyDictionary<string, string> Annotations(string jobName, int workers) => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [KueueTotalCount] = workers.ToString(CultureInfo.InvariantCulture),
        [VolcanoGroupName] = PodNames.ServiceFor(jobName),
    };
}
