using System.Collections.Concurrent;
using k8s.Models;

namespace K8sTraining.Operator.Runtime;

/// <summary>
/// Pods this operator created that its cache has not shown yet. The reconciler counts them as observed, so a stale
/// cache can never make it create a second pod (the same idea as the Job controller's expectations).
/// </summary>
public sealed class PodExpectations(TimeProvider time, TimeSpan ttl)
{
    private readonly ConcurrentDictionary<string, (V1Pod Pod, DateTimeOffset At)> _created = new(StringComparer.Ordinal);

    public void Created(V1Pod pod) => _created[Key(pod)] = (pod, time.GetUtcNow());

    /// <summary>The cache saw the pod (or its deletion): stop pretending.</summary>
    public void Observed(V1Pod pod) => _created.TryRemove(Key(pod), out _);

    public IEnumerable<V1Pod> Pending(string ns, string ownerUid)
    {
        var now = time.GetUtcNow();
        foreach (var (key, (pod, at)) in _created)
        {
            if (now - at > ttl)
            {
                _created.TryRemove(key, out _);
                continue;
            }

            if (pod.Metadata.NamespaceProperty == ns && pod.Metadata.OwnerReferences?.Any(o => o.Uid == ownerUid) == true)
            {
                yield return pod;
            }
        }
    }

    private static string Key(V1Pod pod) => $"{pod.Metadata.NamespaceProperty}/{pod.Metadata.Name}";
}
