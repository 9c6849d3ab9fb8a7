using k8s.Models;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>Standard condition bookkeeping: lastTransitionTime moves only when the status flips.</summary>
public static class Conditions
{
    public static V1Condition? Find(IEnumerable<V1Condition>? conditions, string type) =>
        conditions?.FirstOrDefault(c => c.Type == type);

    public static bool IsTrue(IEnumerable<V1Condition>? conditions, string type) => Find(conditions, type)?.Status == "True";

    /// <summary>Sets (or adds) the condition; returns true when its status changed (a transition).</summary>
    public static bool Set(IList<V1Condition> conditions, string type, bool status, string reason, string message, long? generation, DateTimeOffset now)
    {
        var value = status ? "True" : "False";
        var existing = Find(conditions, type);
        if (existing is null)
        {
            conditions.Add(new V1Condition
            {
                Type = type,
                Status = value,
                Reason = reason,
                Message = message,
                ObservedGeneration = generation,
                LastTransitionTime = now.UtcDateTime,
            });
            return true;
        }

        var changed = existing.Status != value;
        if (changed)
        {
            existing.Status = value;
            existing.LastTransitionTime = now.UtcDateTime;
        }

        existing.Reason = reason;
        existing.Message = message;
        existing.ObservedGeneration = generation;
        return changed;
    }
}
