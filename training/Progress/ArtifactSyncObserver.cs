using K8sTraining.Training.Loop;
using K8sTraining.Training.Storage;

namespace K8sTraining.Training.Progress;

/// <summary>
/// Wraps the observers that write the plots and logs so their files are synced (<see cref="ArtifactSync"/>): before
/// they start, the artifacts missing locally are restored (so the logs continue); after each epoch's lines and plots
/// are written, and at the attempt's end, a copy is queued for upload. The training thread waits only for the restore
/// at start and for copying a few small files.
/// </summary>
public sealed class ArtifactSyncObserver(ITrainingObserver inner, ArtifactSync sync) : ITrainingObserver
{
    public void OnStart(TrainingRunInfo run)
    {
        // Runs after the remote checkpoint store is validated (the loop starts observers last), before any log is opened.
        sync.RestoreMissingAsync(CancellationToken.None).GetAwaiter().GetResult();
        inner.OnStart(run);
    }

    public void OnStep(TrainingProgress progress) => inner.OnStep(progress);

    public void OnEpochEnd(EpochMetrics metrics, TrainingProgress progress)
    {
        inner.OnEpochEnd(metrics, progress);
        sync.Enqueue();
    }

    public void OnMessage(string message) => inner.OnMessage(message);

    public void OnEnd(TrainingEnd end)
    {
        sync.MarkEnding();
        inner.OnEnd(end);
        // Goes up while the loop flushes the checkpoint uploads; the host waits for both within the shutdown budget.
        sync.Enqueue();
    }
}
