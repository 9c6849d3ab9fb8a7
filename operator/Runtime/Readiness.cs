namespace K8sTraining.Operator.Runtime;

/// <summary>What /readyz answers: a follower is ready; a leader only with synced caches and every informer able to list.</summary>
public static class Readiness
{
    public static (bool Ready, string Body) Evaluate(bool isLeader, bool cachesSynced, IReadOnlyList<string> listProblems)
    {
        if (!isLeader)
        {
            return (true, "ok");
        }

        var problems = listProblems.ToList();
        if (!cachesSynced)
        {
            problems.Insert(0, "caches not synced");
        }

        return problems.Count == 0 ? (true, "ok") : (false, "not ready: " + string.Join("; ", problems));
    }
}
