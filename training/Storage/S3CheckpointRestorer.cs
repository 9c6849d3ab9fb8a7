using System.Diagnostics;
using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;
using Microsoft.Extensions.Logging;

namespace K8sTraining.Training.Storage;

/// <summary>
/// The restore path of the S3 store, run once at start: validate the bucket, refuse a stale attempt and fence the
/// prefix, claim it for this job (owner.json), then download the newest checkpoint latest.json lists whose files verify.
/// </summary>
internal sealed partial class S3CheckpointRestorer(
    S3StoreOptions options,
    IObjectStorage objects,
    RemoteCheckpointState state,
    FenceGuard fence,
    RemoteRetry retry,
    ILogger logger)
{
    private readonly ILogger logger = logger;

    private string Location => options.Location.ToString();

    private string LatestKey => options.Location.Key(CheckpointLayout.LatestFileName);

    private string OwnerKey => options.Location.Key(CheckpointLayout.OwnerFileName);

    public async Task ValidateAsync(CancellationToken cancellationToken)
    {
        var bytes = await retry.AtStartupAsync("checking the bucket", ct => objects.GetBytesAsync(LatestKey, ct), cancellationToken).ConfigureAwait(false);
        var found = bytes is null ? null : state.TryParseLatest(bytes);
        state.Latest = found;
        LogValidated(Location, options.EndpointDisplay, bytes is null ? "none" : found?.Checkpoint ?? "unreadable latest.json");
        if (fence.Token is not null)
        {
            // Reads only: a stale attempt leaves before it writes anything (owner.json, its fence, a checkpoint).
            fence.ThrowIfCommittedByNewer(found);
            await retry.DoAtStartupAsync("checking the fences", fence.EnsureNotSupersededAsync, cancellationToken).ConfigureAwait(false);
        }
        if (options.Owner is { } claim)
        {
            await ClaimPrefixAsync(claim, checkpointsExist: bytes is not null, cancellationToken).ConfigureAwait(false);
        }
        if (fence.Token is { } token)
        {
            // Before the restore reads latest.json and before the first upload: from here no older attempt of this job
            // uploads, commits or deletes (each checks the fences first), so what the restore reads stays put.
            await retry.DoAtStartupAsync("writing this attempt's fence", fence.WriteOwnFenceAsync, cancellationToken).ConfigureAwait(false);
            LogFenced(token.Attempt, options.Location.Uri($"{CheckpointLayout.FenceFolderName}/{CheckpointLayout.FenceFileName(token.Attempt)}"));
        }
    }

    // owner.json records which TrainingJob (by uid) the prefix belongs to, so a new job never silently resumes from (and
    // reports as its own) the checkpoints of a deleted job that used the same URI. Written before the first upload.
    private async Task ClaimPrefixAsync(CheckpointOwnerClaim claim, bool checkpointsExist, CancellationToken cancellationToken)
    {
        var ownerUri = options.Location.Uri(CheckpointLayout.OwnerFileName);
        var bytes = await retry.AtStartupAsync("reading owner.json", ct => objects.GetBytesAsync(OwnerKey, ct), cancellationToken).ConfigureAwait(false);
        CheckpointOwner? current = null;
        if (bytes is not null)
        {
            try
            {
                current = RemoteCheckpointDocuments.ParseOwner(bytes);
            }
            catch (Exception e) when (e is InvalidDataException or System.Text.Json.JsonException)
            {
                LogOwnerUnreadable(ownerUri, e.Message);
            }
        }
        if (current is not null && string.Equals(current.Uid, claim.Uid, StringComparison.Ordinal))
        {
            LogPrefixOwned(Location, current.Uid);
            return;
        }
        if (current is not null || bytes is not null || checkpointsExist)
        {
            var holder = current is not null
                ? $"belongs to {current.Namespace}/{current.Name} (uid {current.Uid}, since {current.CreatedAt:O}) according to {ownerUri}"
                : bytes is not null
                    ? $"has an unreadable {ownerUri}, so its owner is unknown"
                    : $"already holds checkpoints (newest {state.Latest?.Checkpoint ?? "unknown: latest.json is unreadable"}) and no {CheckpointLayout.OwnerFileName} says whose";
            if (!claim.Adopt)
            {
                throw new CheckpointPrefixInUseException(
                    $"The checkpoint prefix {Location} {holder}; this job is {claim.Namespace}/{claim.Name} (uid {claim.Uid}). To start from scratch, use a fresh spec.checkpoint.uri (--checkpoint-uri); to resume from those checkpoints, set spec.checkpoint.adopt: true (--checkpoint-adopt true).");
            }
            LogAdopting(Location, holder, claim.Uid);
        }
        var owner = new CheckpointOwner(claim.Uid, claim.Namespace ?? "", claim.Name ?? "", DateTimeOffset.UtcNow);
        await retry.DoAtStartupAsync("writing owner.json", ct => objects.PutBytesAsync(OwnerKey, RemoteCheckpointDocuments.SerializeOwner(owner), ct), cancellationToken).ConfigureAwait(false);
        LogPrefixClaimed(Location, claim.Uid);
    }

    /// <summary>How many times restore reads an unparsable latest.json before it calls it damaged (a torn read heals).</summary>
    private const int LatestReads = 3;

    private static readonly TimeSpan TornReadPause = TimeSpan.FromMilliseconds(300);

    public async Task<long?> RestoreNewestAsync(string localCheckpointRoot, long localNewestGlobalStep, CancellationToken cancellationToken)
    {
        var bytes = await retry.AtStartupAsync("reading latest.json", ct => objects.GetBytesAsync(LatestKey, ct), cancellationToken).ConfigureAwait(false);
        if (bytes is null)
        {
            state.RecordNothingRemote(localNewestGlobalStep);
            LogNothingToRestore(Location);
            return null;
        }
        LatestPointer pointer;
        for (var read = 1; ; read++)
        {
            try
            {
                pointer = RemoteCheckpointDocuments.ParseLatest(bytes);
                break;
            }
            catch (Exception e) when (e is InvalidDataException or System.Text.Json.JsonException && read < LatestReads)
            {
                // A store without atomic overwrites (s3rver) can hand a read a torn latest.json while a zombie writes it:
                // read again before calling it damaged, which stops the job (exit 2) until a person repairs it.
                await Task.Delay(TornReadPause, cancellationToken).ConfigureAwait(false);
                bytes = await retry.AtStartupAsync("reading latest.json again", ct => objects.GetBytesAsync(LatestKey, ct), cancellationToken).ConfigureAwait(false);
                if (bytes is null)
                {
                    state.RecordNothingRemote(localNewestGlobalStep);
                    LogNothingToRestore(Location);
                    return null;
                }
            }
            catch (Exception e) when (e is InvalidDataException or System.Text.Json.JsonException)
            {
                throw new RemoteCheckpointDamagedException(
                    $"{options.Location.Uri(CheckpointLayout.LatestFileName)} is unreadable ({e.Message}); checkpoints may exist, so the trainer will not start from scratch. Repair or delete latest.json.", e);
            }
        }
        state.Latest = pointer;
        fence.ThrowIfCommittedByNewer(pointer);

        var candidates = pointer.Retained.Append(pointer.Checkpoint).Distinct(StringComparer.Ordinal)
            .Select(name => (Name: name, Step: CheckpointLayout.TryParseDirectoryName(name, out var s) ? s : -1))
            .Where(c => c.Step > localNewestGlobalStep)
            .OrderByDescending(c => c.Step)
            .ToList();
        if (candidates.Count == 0)
        {
            state.ProtectLocalNewest(pointer, localNewestGlobalStep);
            LogLocalIsNewest(localNewestGlobalStep, Location);
            return null;
        }

        Directory.CreateDirectory(localCheckpointRoot);
        foreach (var (name, step) in candidates)
        {
            var stopwatch = Stopwatch.StartNew();
            try
            {
                var bytesRestored = await retry.AtStartupAsync($"restoring {name}", ct => S3CheckpointDownload.DownloadAsync(objects, options.Location, localCheckpointRoot, name, ct), cancellationToken).ConfigureAwait(false);
                state.RecordRestored(name, step);
                LogRestored(options.Location.Uri(name), bytesRestored, stopwatch.Elapsed.TotalSeconds);
                return step;
            }
            catch (InvalidDataException e)
            {
                LogCheckpointDoesNotVerify(options.Location.Uri(name), e.Message);
                state.RecordInvalid(name);
            }
        }

        if (localNewestGlobalStep >= 0)
        {
            state.ProtectLocalNewest(pointer, localNewestGlobalStep);
            return null;
        }
        throw new RemoteCheckpointDamagedException(
            $"None of the {candidates.Count} checkpoints listed in {options.Location.Uri(CheckpointLayout.LatestFileName)} verifies ({string.Join(", ", candidates.Select(c => c.Name))}); the trainer will not silently start from scratch. Inspect them, or delete latest.json to start over.");
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Remote checkpoints at {Location} ({Endpoint}): newest {Newest}")]
    private partial void LogValidated(string location, string endpoint, string newest);

    [LoggerMessage(Level = LogLevel.Information, Message = "No remote checkpoint at {Location}")]
    private partial void LogNothingToRestore(string location);

    [LoggerMessage(Level = LogLevel.Information, Message = "Local checkpoint step {LocalStep} is as new as anything at {Location}; nothing to download")]
    private partial void LogLocalIsNewest(long localStep, string location);

    [LoggerMessage(Level = LogLevel.Information, Message = "Restored {Checkpoint} ({Bytes} bytes) in {Seconds:0.000} s")]
    private partial void LogRestored(string checkpoint, long bytes, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Checkpoint {Checkpoint} does not verify ({Reason}); using the one before")]
    private partial void LogCheckpointDoesNotVerify(string checkpoint, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Checkpoint prefix {Location} belongs to this job (uid {Uid})")]
    private partial void LogPrefixOwned(string location, string uid);

    [LoggerMessage(Level = LogLevel.Information, Message = "Claimed checkpoint prefix {Location} for uid {Uid} (owner.json)")]
    private partial void LogPrefixClaimed(string location, string uid);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Adopting checkpoint prefix {Location}, which {Holder}, for uid {Uid} (--checkpoint-adopt true)")]
    private partial void LogAdopting(string location, string holder, string uid);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Owner} is unreadable: {Reason}")]
    private partial void LogOwnerUnreadable(string owner, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Attempt {Attempt} fenced the checkpoint prefix ({Fence}): older attempts of this job stop uploading")]
    private partial void LogFenced(int attempt, string fence);
}
