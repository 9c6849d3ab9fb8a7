using System.Globalization;

namespace K8sTraining.Chaos.Cluster;

/// <summary>One write request an operator replica made, as the API server's audit log saw it (time = when it was answered).</summary>
public sealed record OperatorWrite(DateTimeOffset Time, string Identity, string Verb, string Resource, string Name, int Code)
{
    public bool Succeeded => Code is >= 200 and < 300;

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Time:HH:mm:ss.fff} {Identity} {Verb} {Resource}/{Name} -> {Code}");
}

/// <summary>A replica's hold on the lease: from the write that took it to the one that took it from it (or the end).</summary>
public sealed record LeaseTerm(string Identity, DateTimeOffset From, DateTimeOffset LastRenewal);

/// <summary>
/// "One leader at a time", judged from the writes alone: the successful writes of the election Lease say who held it
/// when (each is a take-over or a renewal by its writer); a take-over must come a whole lease duration after the last
/// renewal of the replica it replaced (the replicas in this check are never stopped gracefully, so none releases the
/// lease), and every other write of an operator replica must come from the holder of that moment, within a lease
/// duration of its last renewal.
/// </summary>
public static class LeaderHistory
{
    public const string LeaseResource = "leases";

    private static readonly HashSet<string> WriteVerbs = new(StringComparer.Ordinal) { "create", "update", "patch", "delete", "deletecollection" };

    public static bool IsWrite(string verb) => WriteVerbs.Contains(verb);

    /// <summary>The lease's terms, in order, from its successful writes.</summary>
    public static IReadOnlyList<LeaseTerm> Terms(IEnumerable<OperatorWrite> writes, string leaseName)
    {
        var terms = new List<LeaseTerm>();
        foreach (var w in LeaseWrites(writes, leaseName))
        {
            if (terms.Count > 0 && terms[^1].Identity == w.Identity)
            {
                terms[^1] = terms[^1] with { LastRenewal = w.Time };
            }
            else
            {
                terms.Add(new LeaseTerm(w.Identity, w.Time, w.Time));
            }
        }
        return terms;
    }

    /// <summary>Every breach of one leader at a time, in words; empty when there is none.</summary>
    public static IReadOnlyList<string> Check(IReadOnlyList<OperatorWrite> writes, string leaseName, TimeSpan leaseDuration, TimeSpan tolerance)
    {
        var problems = new List<string>();
        var leaseWrites = LeaseWrites(writes, leaseName).ToList();
        for (var i = 1; i < leaseWrites.Count; i++)
        {
            var (before, now) = (leaseWrites[i - 1], leaseWrites[i]);
            if (before.Identity != now.Identity && now.Time - before.Time < leaseDuration - tolerance)
            {
                problems.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{now.Identity} took the lease {(now.Time - before.Time).TotalSeconds:0.00} s after {before.Identity} last renewed it (lease duration {leaseDuration.TotalSeconds:0} s): two leaders at once ({before}; {now})"));
            }
        }

        foreach (var w in writes.Where(w => IsWrite(w.Verb) && !IsLease(w, leaseName)).OrderBy(w => w.Time))
        {
            var renewal = leaseWrites.LastOrDefault(l => l.Time <= w.Time);
            if (renewal is null)
            {
                problems.Add($"{w.Identity} wrote before any replica held the lease: {w}");
            }
            else if (renewal.Identity != w.Identity)
            {
                problems.Add($"{w.Identity} wrote while {renewal.Identity} held the lease: {w}");
            }
            else if (w.Time - renewal.Time > leaseDuration + tolerance)
            {
                problems.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{w.Identity} wrote {(w.Time - renewal.Time).TotalSeconds:0.00} s after its last renewal of the lease (lease duration {leaseDuration.TotalSeconds:0} s): {w}"));
            }
        }
        return problems;
    }

    // A create names its object in the body, not the path: the audit log has no name for it.
    private static bool IsLease(OperatorWrite w, string leaseName) =>
        w.Resource == LeaseResource && (w.Name == leaseName || (w.Verb == "create" && w.Name.Length == 0));

    private static IEnumerable<OperatorWrite> LeaseWrites(IEnumerable<OperatorWrite> writes, string leaseName) =>
        writes.Where(w => IsLease(w, leaseName) && IsWrite(w.Verb) && w.Succeeded).OrderBy(w => w.Time);
}
