namespace K8sTraining.Training.Checkpoints;

/// <summary>
/// Writes snapshots on a background thread, one at a time, so periodic checkpoints cost the training loop only the
/// in-memory snapshot. A new write (or a signal checkpoint) first waits for the one in flight. <paramref name="onCommitted"/>
/// gets each committed checkpoint and how long its write took.
/// </summary>
public sealed class CheckpointWriter(LocalCheckpointStore store, Action<LocalCheckpoint, TimeSpan> onCommitted)
{
    private Task<LocalCheckpoint>? _inFlight;

    /// <summary>The newest checkpoint known to be committed locally (found at start or written since).</summary>
    public LocalCheckpoint? LastCommitted { get; set; }

    /// <summary>Global step of the snapshot being written or last committed.</summary>
    public long? LastSubmittedStep { get; private set; }

    public void StartBackgroundWrite(CheckpointSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        WaitForInFlight();
        LastSubmittedStep = snapshot.GlobalStep;
        _inFlight = Task.Run(() => Commit(snapshot));
    }

    public LocalCheckpoint Write(CheckpointSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        WaitForInFlight();
        LastSubmittedStep = snapshot.GlobalStep;
        return Commit(snapshot);
    }

    /// <summary>Blocks until the write in flight is committed; rethrows its failure.</summary>
    public void WaitForInFlight()
    {
        var task = _inFlight;
        if (task is null)
        {
            return;
        }
        _inFlight = null;
        task.GetAwaiter().GetResult();
    }

    private LocalCheckpoint Commit(CheckpointSnapshot snapshot)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var committed = store.Write(snapshot);
        var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        LastCommitted = committed;
        onCommitted(committed, elapsed);
        return committed;
    }
}
