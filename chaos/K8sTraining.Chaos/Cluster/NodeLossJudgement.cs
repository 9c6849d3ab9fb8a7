using System.Globalization;

namespace K8sTraining.Chaos.Cluster;

/// <summary>What was known when a node was lost, and where the replacement resumed.</summary>
/// <param name="Reached">The global step the lost trainer had logged when its node was lost.</param>
/// <param name="Durable">The global step latest.json named at that moment (0: none yet).</param>
/// <param name="Resumed">The global step the replacement resumed at (0: from scratch).</param>
/// <param name="Interval">The checkpoint interval in steps.</param>
/// <param name="Queued">The newest step whose checkpoint the lost trainer's log says it queued for upload (0: none).</param>
/// <param name="Uploaded">The newest step whose checkpoint the lost trainer's log says it committed to S3 (0: none).</param>
public sealed record NodeLossOutcome(long Reached, long Durable, long Resumed, int Interval, long Queued = 0, long Uploaded = 0)
{
    /// <summary>The steps trained before the loss that the replacement trains again.</summary>
    public long Lost => Math.Max(0, Reached - Resumed);
}

/// <summary>
/// The invariants of one node loss. The replacement resumes from the checkpoint latest.json named at the moment of the
/// loss, or a newer one (a zombie behind a partition may commit on until its replacement does). The steps lost are at
/// most the checkpoint interval, except that checkpoints are uploaded in the background: the one of the last boundary
/// may still be uploading when the node goes, so one checkpoint more may be lost. More than that only when storage
/// fell behind, and the lost trainer's log must show it: it queued the checkpoint that should have been durable, that
/// upload had not committed, and the replacement resumed from the newest one that had. Training does not wait for
/// storage, so a slow S3 costs steps on a hard loss but never a committed checkpoint. And once an attempt has committed
/// latest.json, no older attempt (a zombie) ever commits it again.
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

        var mustBeDurable = MustBeDurable(o);
        if (o.Lost > o.Interval && o.Resumed < mustBeDurable && !StorageFellBehind(o, mustBeDurable))
        {
            return string.Create(CultureInfo.InvariantCulture,
                $"{o.Lost} steps lost (reached {o.Reached}, resumed at {o.Resumed}): more than the interval {o.Interval} plus the one checkpoint that may be uploading, and the trainer's log does not show the uploads behind (queued up to {o.Queued}, committed up to {o.Uploaded})");
        }

        return null;
    }

    /// <summary>
    /// The newest checkpoint that is durable when storage keeps up: the last boundary before the step reached may not
    /// have begun its checkpoint (a trainer that has just logged a boundary step; its steps are the interval lost), and
    /// the boundary before it may still be uploading (the one checkpoint more), so the one before that.
    /// </summary>
    private static long MustBeDurable(NodeLossOutcome o) => (Math.Max(0, o.Reached - 1) / o.Interval * o.Interval) - o.Interval;

    /// <summary>
    /// True when the trainer queued the checkpoint of <paramref name="mustBeDurable"/> (or a newer one), none of them had
    /// committed when it died, and the replacement resumed from the newest one that had.
    /// </summary>
    private static bool StorageFellBehind(NodeLossOutcome o, long mustBeDurable) =>
        o.Queued >= mustBeDurable && o.Uploaded < mustBeDurable && o.Resumed >= o.Uploaded;

    /// <summary>True when the loss cost more than the interval because uploads were in flight (the last boundary's, or a backlog).</summary>
    public static bool LostTheUploadInFlight(NodeLossOutcome o) => o.Lost > o.Interval && Check(o) is null;

    /// <summary>True when the loss cost more than the interval plus one checkpoint because uploads had fallen behind.</summary>
    public static bool LostToAStorageBacklog(NodeLossOutcome o) =>
        LostTheUploadInFlight(o) && o.Resumed < MustBeDurable(o);

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
