using K8sTraining.Contract;
using Microsoft.Extensions.Logging;

namespace K8sTraining.Training.Storage;

/// <summary>
/// This attempt's side of fencing (see <see cref="Fencing"/> for the decisions): its token, its own fence, the fences
/// of newer attempts found by listing, and the proof, recorded and logged once, that a newer attempt took over.
/// </summary>
internal sealed partial class FenceGuard
{
    private readonly S3StoreOptions options;
    private readonly IObjectStorage objects;
    private readonly ILogger logger;
    private readonly Lock gate = new();
    private readonly HashSet<int> otherJobsFences = [];
    private SupersededException? superseded;

    public FenceGuard(S3StoreOptions options, IObjectStorage objects, ILogger logger)
    {
        this.options = options;
        this.objects = objects;
        this.logger = logger;
        Token = options.Attempt is { } attempt ? new FenceToken(attempt, options.Owner?.Uid) : null;
    }

    /// <summary>The fencing token; null without TRAINER_ATTEMPT (never fenced).</summary>
    public FenceToken? Token { get; }

    /// <summary>The proof that a newer attempt took over the prefix; null while this attempt may upload.</summary>
    public SupersededException? Superseded
    {
        get
        {
            lock (gate)
            {
                return superseded;
            }
        }
    }

    public string FenceKey(int attempt) => options.Location.Key($"{CheckpointLayout.FenceFolderName}/{CheckpointLayout.FenceFileName(attempt)}");

    /// <summary>Writes this attempt's fence (<c>fences/attempt-N.json</c>); from then on older attempts of the job stop.</summary>
    public async Task WriteOwnFenceAsync(CancellationToken cancellationToken)
    {
        var token = Token ?? throw new InvalidOperationException("An attempt without a fencing token writes no fence.");
        var fence = new AttemptFence(token.Attempt, token.JobUid, options.Pod, DateTimeOffset.UtcNow);
        await objects.PutBytesAsync(FenceKey(token.Attempt), RemoteCheckpointDocuments.SerializeFence(fence), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Lists the fences and throws <see cref="SupersededException"/> when a newer attempt of this job has one.</summary>
    public async Task EnsureNotSupersededAsync(CancellationToken cancellationToken)
    {
        if (Token is not { } token)
        {
            return;
        }
        if (Superseded is { } already)
        {
            throw already;
        }
        var folder = options.Location.Key(CheckpointLayout.FenceFolderName + "/");
        var keys = await objects.ListKeysAsync(folder, cancellationToken).ConfigureAwait(false);
        var attempts = keys.Select(k => CheckpointLayout.TryParseFenceFileName(k[(k.LastIndexOf('/') + 1)..], out var a) ? a : -1).Where(a => a > 0).ToList();
        while (Fencing.NewerFence(token, attempts) is { } newer)
        {
            bool foreign;
            lock (gate)
            {
                foreign = otherJobsFences.Contains(newer);
            }
            if (!foreign)
            {
                var bytes = await objects.GetBytesAsync(FenceKey(newer), cancellationToken).ConfigureAwait(false);
                AttemptFence? fence = null;
                try
                {
                    fence = bytes is null ? null : RemoteCheckpointDocuments.ParseFence(bytes);
                }
                catch (Exception e) when (e is InvalidDataException or System.Text.Json.JsonException)
                {
                    // Unreadable: assume it is this job's. Fencing errs on the side of stopping.
                }
                if (fence is null || Fencing.Supersedes(token, newer, fence.JobUid))
                {
                    var key = options.Location.Uri($"{CheckpointLayout.FenceFolderName}/{CheckpointLayout.FenceFileName(newer)}");
                    throw Supersede(newer, fence is null
                        ? $"{key} exists"
                        : $"{key} says attempt {newer} started at {fence.StartedAt:O}{(fence.Pod is null ? "" : $" in pod {fence.Pod}")}");
                }
                lock (gate)
                {
                    // Another job's fence (a prefix adopted from a deleted job): attempts of different jobs never compare.
                    otherJobsFences.Add(newer);
                }
            }
            attempts.Remove(newer);
        }
    }

    /// <summary>Throws when <paramref name="pointer"/> (latest.json) was committed by a newer attempt of this job.</summary>
    public void ThrowIfCommittedByNewer(LatestPointer? pointer)
    {
        if (pointer is not null && Fencing.Supersedes(Token, pointer.Attempt, pointer.JobUid))
        {
            throw Supersede(pointer.Attempt!.Value, $"{options.Location.Uri(CheckpointLayout.LatestFileName)} was committed by attempt {pointer.Attempt} ({pointer.Checkpoint})");
        }
    }

    /// <summary>Records (once) and logs (once) that a newer attempt took over; every later call returns the same proof.</summary>
    public SupersededException Supersede(int newer, string evidence)
    {
        lock (gate)
        {
            if (superseded is not null)
            {
                return superseded;
            }
            superseded = new SupersededException(
                $"Attempt {Token!.Attempt} is superseded by attempt {newer} at {options.Location}: {evidence}. Attempt {Token.Attempt} stops uploading and exits {TrainerExitCodes.Superseded}; attempt {newer} owns the checkpoints.",
                Token.Attempt,
                newer);
        }
        LogSupersededAttempt(superseded.Message);
        return superseded;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Superseded: {Message}")]
    private partial void LogSupersededAttempt(string message);
}
