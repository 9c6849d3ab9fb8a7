using System.Globalization;

namespace K8sTraining.Chaos.Cluster;

/// <summary>What was known when a node was lost, and where the replacement resumed.</summary>
/// <param name="Reached">The global step the lost trainer had logged when its node was lost.</param>
/// <param name="Durable">The global step latest.json named at that moment (0: none yet).</param>
/// <param name="Resumed">The global step the replacement resumed at (0: from scratch).</param>
/// <param name="Interval">The checkpoint interval in steps.</param>
public sealed record NodeLossOutcome(long Reached, long Durable, long Resumed, int Interval)
{
    /// <summary>The steps trained before the loss that the replacement trains again.</summary>
    public long Lost => Math.Max(0, Reached - Resumed);
}

/// <summary>
/// The invariants of one node loss. The replacement resumes from the checkpoint latest.json named at the moment of the
/// loss, or a newer one (a zombie behind a partition may commit on until its replacement does). The steps lost are at
/// most the checkpoint interval, except that checkpoints are uploaded in the background: the one of the last boundary
/// may still be uploading when the node goes, so never more than that one checkpoint is lost. And once an attempt has
/// committed latest.json, no older attempt (a zombie) ever commits it again.
/// </summary>
public static class NodeLossJudgement
{
    /// <summary>The breach of the resume invariants, in words, or null.</summary>
    public static string? Check(NodeLossOutcome o)
    {
        if (o.Resumed < o.Durable)
        {
            return string.Create(CultureInfo.InvariantCulture,
                $"the replacement resumed at step {o.Resumed}, behind the checkpoint of step {o.Durable} that latest.json named when the node was lost");
        }

        // The last boundary whose checkpoint had begun before the loss: a trainer that has just logged a boundary step
        // may not have started that boundary's checkpoint (its steps are the interval lost), while the boundary before
        // it may still be uploading (the one checkpoint more).
        var lastBoundary = Math.Max(0, o.Reached - 1) / o.Interval * o.Interval;
        if (o.Lost > o.Interval && o.Resumed < lastBoundary - o.Interval)
        {
            return string.Create(CultureInfo.InvariantCulture,
                $"{o.Lost} steps lost (reached {o.Reached}, resumed at {o.Resumed}): more than the interval {o.Interval} plus the one checkpoint that may be uploading");
        }

        return null;
    }

    /// <summary>True when the loss cost more than the interval because the last boundary's upload was in flight.</summary>
    public static bool LostTheUploadInFlight(NodeLossOutcome o) => o.Lost > o.Interval && Check(o) is null;

    /// <summary>
    /// Fencing, from the attempts latest.json was seen to name, in order: once attempt n has committed, an older attempt
    /// committing again is a zombie's commit made visible.
    /// </summary>
    public static string? CheckFencing(IReadOnlyList<int> attemptsSeen)
    {
        var newest = 0;
        foreach (var attempt in attemptsSeen)
        {
            if (attempt < newest)
            {
                return string.Create(CultureInfo.InvariantCulture,
                    $"latest.json named attempt {attempt} after attempt {newest} had committed (attempts in order: {string.Join(",", attemptsSeen)}): a zombie's commit is visible");
            }
            newest = Math.Max(newest, attempt);
        }
        return null;
    }
}
