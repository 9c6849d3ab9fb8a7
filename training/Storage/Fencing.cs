using System.Globalization;
using K8sTraining.Contract;

namespace K8sTraining.Training.Storage;

/// <summary>This trainer's fencing token: its attempt, within its job (attempts of different jobs never compare).</summary>
public sealed record FenceToken(int Attempt, string? JobUid);

/// <summary>What a commit of latest.json does after reading it, or after writing it and reading it back.</summary>
public enum CommitVerdict
{
    /// <summary>Write (or, after a write, the store holds exactly what this attempt wrote: committed).</summary>
    Proceed,

    /// <summary>Someone wrote in between (a store that ignores conditional writes): read again and decide again.</summary>
    Retry,

    /// <summary>A newer attempt of the same job committed: stop, never write.</summary>
    Superseded,
}

/// <summary>
/// The fencing decisions of the checkpoint protocol, as pure functions. A newer attempt of the same job writes its fence
/// before its first upload and records itself in latest.json at each commit; an older attempt that sees either stops.
/// </summary>
public static class Fencing
{
    /// <summary>
    /// The attempt in TRAINER_ATTEMPT: null when unset (no fencing); a positive whole number otherwise, or the
    /// configuration is wrong.
    /// </summary>
    public static int? ParseAttempt(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }
        return int.TryParse(value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var attempt) && attempt > 0
            ? attempt
            : throw new RemoteStoreConfigurationException($"{TrainerEnvironment.Attempt} '{value}' is not a positive whole number (the attempt, 1, 2, ...); unset it for a trainer without fencing.");
    }

    /// <summary>
    /// True when a mark left by <paramref name="otherAttempt"/> of the job <paramref name="otherJobUid"/> (a fence, or
    /// the committer of latest.json) means this trainer is stale: it is fenced, the mark is from the same job (the same
    /// uid, or both without one) and from a newer attempt. A trainer without a token is never superseded; a mark
    /// without an attempt (an unfenced trainer's commit) supersedes no one.
    /// </summary>
    public static bool Supersedes(FenceToken? mine, int? otherAttempt, string? otherJobUid) =>
        mine is not null && otherAttempt is { } other && other > mine.Attempt && string.Equals(mine.JobUid, otherJobUid, StringComparison.Ordinal);

    /// <summary>Before writing latest.json: refuse when a newer attempt committed what is there now.</summary>
    public static CommitVerdict BeforeWrite(FenceToken? mine, LatestPointer? current) =>
        current is not null && Supersedes(mine, current.Attempt, current.JobUid) ? CommitVerdict.Superseded : CommitVerdict.Proceed;

    /// <summary>
    /// After writing latest.json and reading it back: committed when the store holds exactly the bytes written;
    /// superseded when a newer attempt's commit replaced them; otherwise another writer raced (a store that ignores
    /// conditions let an older attempt overwrite), and the commit is read and decided again.
    /// </summary>
    public static CommitVerdict AfterWrite(FenceToken? mine, ReadOnlySpan<byte> written, ReadOnlySpan<byte> readBack, LatestPointer? readBackPointer) =>
        readBack.SequenceEqual(written) ? CommitVerdict.Proceed
        : readBackPointer is not null && Supersedes(mine, readBackPointer.Attempt, readBackPointer.JobUid) ? CommitVerdict.Superseded
        : CommitVerdict.Retry;

    /// <summary>The newest fence above this trainer's attempt, given the attempts whose fence objects exist; null when none.</summary>
    public static int? NewerFence(FenceToken? mine, IEnumerable<int> fencedAttempts) =>
        mine is null ? null : fencedAttempts.Where(a => a > mine.Attempt).Select(a => (int?)a).Max();

    /// <summary>
    /// The checkpoints the next latest.json lists, newest first, when <paramref name="committing"/> is committed over
    /// <paramref name="current"/>: the listed ones that may verify (<paramref name="invalid"/> are dropped, never
    /// counted), cut to <paramref name="keep"/> (0 keeps all), always with the one committed and
    /// <paramref name="keepAlways"/> (the one this attempt resumed from) when listed. Checkpoints newer than the one
    /// committed that an older attempt listed are dropped, unlisted but not deleted: that attempt wrote them after this
    /// one started (a zombie's race), so they are not part of this attempt's history. Returns the list and the
    /// checkpoints retention deletes (listed before, kept no more; never the unlisted newer ones).
    /// <paramref name="ownLastList"/> is what this attempt's previous commit listed: merged in, so a stale attempt's
    /// pointer that overwrote it (a store that ignores conditional writes) does not drop this attempt's checkpoints.
    /// <paramref name="best"/> (the best checkpoint named by the manifest committed) is kept however old, when listed.
    /// </summary>
    public static (List<string> Kept, List<string> Deleted) Retain(
        LatestPointer? current, string committing, int keep, string? keepAlways, IReadOnlySet<string> invalid, FenceToken? mine, IReadOnlyList<string>? ownLastList = null, string? best = null)
    {
        ArgumentNullException.ThrowIfNull(invalid);
        var listed = (current?.Retained ?? []).Append(current?.Checkpoint).Concat(ownLastList ?? []).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        var olderAttemptsList = mine is not null && current?.Attempt is { } previous && previous < mine.Attempt
            && string.Equals(current.JobUid, mine.JobUid, StringComparison.Ordinal);
        var all = listed.Where(n => !invalid.Contains(n))
            .Where(n => !olderAttemptsList || string.CompareOrdinal(n, committing) <= 0)
            .Append(committing)
            .Distinct(StringComparer.Ordinal)
            .OrderByDescending(n => n, StringComparer.Ordinal)
            .ToList();
        var kept = keep <= 0 ? [.. all] : all.Take(keep).ToList();
        if (!kept.Contains(committing))
        {
            kept.Add(committing);
        }
        foreach (var always in new[] { keepAlways, best })
        {
            if (always is not null && all.Contains(always) && !kept.Contains(always))
            {
                kept.Add(always);
            }
        }
        kept.Sort((a, b) => string.CompareOrdinal(b, a));
        return (kept, all.Except(kept, StringComparer.Ordinal).ToList());
    }
}
