using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;

namespace K8sTraining.Training.Loop;

/// <summary>
/// What this attempt knows, kept current by the loop: its position, where it resumed, the newest local checkpoint.
/// Whatever ends the attempt (completion, a signal, an error) reports from it, so the report always tells the truth.
/// </summary>
public sealed class AttemptRecord
{
    private readonly Lock gate = new();
    private long globalStep;
    private int epoch;
    private int stepInEpoch;
    private LocalCheckpoint? newestLocal;
    private ResumePoint? resumedFrom;
    private double? testAccuracy;
    private InitLineageReport? lineage;
    private StageReport? stage;

    /// <summary>Where this attempt resumed; null when it started fresh (or has not got that far).</summary>
    public ResumePoint? ResumedFrom
    {
        get
        {
            lock (gate)
            {
                return resumedFrom;
            }
        }
    }

    /// <summary>The attempt resumed at this position from <paramref name="checkpoint"/> (a remote URI or a local path).</summary>
    public void RecordResume(long step, int atEpoch, int atStepInEpoch, string checkpoint)
    {
        lock (gate)
        {
            resumedFrom = new ResumePoint(step, atEpoch, atStepInEpoch, checkpoint);
            (globalStep, epoch, stepInEpoch) = (step, atEpoch, atStepInEpoch);
        }
    }

    /// <summary>Steps completed so far (after each step and at each epoch's end).</summary>
    public void RecordPosition(long step, int atEpoch, int atStepInEpoch)
    {
        lock (gate)
        {
            (globalStep, epoch, stepInEpoch) = (step, atEpoch, atStepInEpoch);
        }
    }

    /// <summary>The run's weights started from another run's checkpoint (fine-tuning); every attempt of it reports this.</summary>
    public void RecordLineage(InitLineageReport? initializedFrom)
    {
        lock (gate)
        {
            lineage = initializedFrom;
        }
    }

    /// <summary>The stage a staged run is in (at its start and at each stage's start).</summary>
    public void RecordStage(StageReport report)
    {
        lock (gate)
        {
            stage = report;
        }
    }

    public void RecordAccuracy(double? accuracy)
    {
        lock (gate)
        {
            testAccuracy = accuracy ?? testAccuracy;
        }
    }

    /// <summary>A checkpoint committed (or found valid) on local disk; the newest one is kept.</summary>
    public void RecordLocalCheckpoint(LocalCheckpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        lock (gate)
        {
            if (newestLocal is null || checkpoint.Manifest.GlobalStep >= newestLocal.Manifest.GlobalStep)
            {
                newestLocal = checkpoint;
            }
        }
    }

    /// <summary>The report for an ending with this status, given the newest checkpoint committed remotely (if any).</summary>
    public TerminationMessage Report(string status, string message, string? reason, (long GlobalStep, string Uri)? newestRemote)
    {
        lock (gate)
        {
            var local = newestLocal is null ? ((long, string)?)null : (newestLocal.Manifest.GlobalStep, newestLocal.Directory);
            var (checkpoint, uploaded) = NewestDurable(local, newestRemote);
            return new TerminationMessage
            {
                Status = status,
                GlobalStep = globalStep,
                Epoch = epoch,
                StepInEpoch = stepInEpoch,
                Checkpoint = checkpoint,
                CheckpointUploaded = uploaded,
                TestAccuracy = testAccuracy,
                Message = message,
                Reason = reason,
                ResumedFrom = resumedFrom,
                Best = BestLocked(newestRemote),
                Lineage = lineage,
                Stage = stage,
            };
        }
    }

    /// <summary>
    /// The best checkpoint named by the newest local checkpoint's manifest, and where it is: its remote URI once the
    /// remote store committed a checkpoint at least as new (the upload queue commits a best before anything newer),
    /// else its local path. Null while no checkpoint names a best.
    /// </summary>
    public BestCheckpointReport? Best((long GlobalStep, string Uri)? newestRemote)
    {
        lock (gate)
        {
            return BestLocked(newestRemote);
        }
    }

    /// <summary>
    /// The best once a replacement could load it: with a remote store only once committed there (its location is
    /// remote), else as soon as it is on local disk. What the trainer's best gauges export while it runs.
    /// </summary>
    public BestCheckpointReport? DurableBest((long GlobalStep, string Uri)? newestRemote, bool remoteStore) =>
        Best(newestRemote) is { } best && (!remoteStore || CheckpointLayout.IsRemote(best.Location)) ? best : null;

    private BestCheckpointReport? BestLocked((long GlobalStep, string Uri)? newestRemote)
    {
        if (newestLocal?.Manifest.Best is not { } best)
        {
            return null;
        }
        var name = CheckpointLayout.DirectoryName(best.GlobalStep);
        var location = newestRemote is { } remote && remote.GlobalStep >= best.GlobalStep
            ? remote.Uri[..(remote.Uri.LastIndexOf('/') + 1)] + name
            : Path.Combine(Path.GetDirectoryName(newestLocal.Directory) ?? "", name);
        return BestCheckpointReport.Of(best, location);
    }

    /// <summary>
    /// The checkpoint a replacement would resume from: the remote one when it is at least as new as the local one
    /// (uploaded), else the local one (not uploaded). A local path is never reported as uploaded.
    /// </summary>
    public static (string? Checkpoint, bool Uploaded) NewestDurable((long GlobalStep, string Path)? local, (long GlobalStep, string Uri)? remote) =>
        (local, remote) switch
        {
            (_, { } r) when local is null || r.GlobalStep >= local.Value.GlobalStep => (r.Uri, true),
            ({ } l, _) => (l.Path, false),
            _ => (null, false),
        };
}
