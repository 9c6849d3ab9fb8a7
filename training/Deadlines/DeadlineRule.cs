namespace K8sTraining.Training.Deadlines;

/// <summary>
/// What the trainer knows at a step boundary where it may stop (the start of an optimizer-step group): the costs it
/// measured in this attempt (null before the first measurement) and what continuing would commit it to.
/// </summary>
/// <param name="CheckpointBytes">An estimate of one checkpoint's size, for the defaults before a write was measured.</param>
/// <param name="RemoteStore">True when a stop must also flush the checkpoint to the remote store.</param>
/// <param name="StepsToNextStop">Steps (batches) until the next boundary where the run may stop (the group's size).</param>
/// <param name="EpochEndsFirst">True when those steps end the epoch: evaluation and the epoch's checkpoint come before the next chance.</param>
/// <param name="EvaluationBatches">Batches the epoch's evaluation reads, for its default before it was measured.</param>
/// <param name="CheckpointWrite">The slowest checkpoint write measured.</param>
/// <param name="Upload">The slowest upload measured, from local commit to remote commit.</param>
/// <param name="Step">The slowest step measured.</param>
/// <param name="EpochEnd">The slowest epoch end measured (last step, evaluation, the epoch's checkpoint).</param>
public sealed record DeadlineInputs(
    long CheckpointBytes,
    bool RemoteStore,
    int StepsToNextStop,
    bool EpochEndsFirst,
    int EvaluationBatches,
    TimeSpan? CheckpointWrite = null,
    TimeSpan? Upload = null,
    TimeSpan? Step = null,
    TimeSpan? EpochEnd = null);

/// <summary>The decision at one boundary, with the time left and the reserve it was compared with (for the log line).</summary>
public sealed record DeadlineDecision(bool Stop, TimeSpan Left, TimeSpan Reserve, string Breakdown);

/// <summary>
/// When a time-boxed run must stop: at a boundary where it may stop, when what is left until the deadline no longer covers
/// continuing to the next such boundary and then stopping there. Stop when
/// <c>now + checkpoint write + upload + steps to the next boundary (+ the epoch's end when it comes first) + margin >= deadline</c>.
/// Measured costs count <see cref="SafetyFactor"/> times (the slowest seen); before the first measurement the defaults
/// are conservative: a write at <see cref="DefaultWriteBytesPerSecond"/> plus <see cref="DefaultWriteOverhead"/>, an
/// upload at <see cref="DefaultUploadBytesPerSecond"/> plus <see cref="DefaultUploadOverhead"/>, a step of
/// <see cref="DefaultStep"/>, an evaluation batch as long as a step. A pure function of its inputs.
/// </summary>
public static class DeadlineRule
{
    /// <summary>Measured costs count this many times: a stop may wait for a write in flight before its own, or an upload queued before its own.</summary>
    public const double SafetyFactor = 2;

    /// <summary>Kept free after the flush: the exit, the termination message, the clock's drift.</summary>
    public static readonly TimeSpan Margin = TimeSpan.FromSeconds(2);

    public const double DefaultWriteBytesPerSecond = 20e6;

    public static readonly TimeSpan DefaultWriteOverhead = TimeSpan.FromSeconds(1);

    public const double DefaultUploadBytesPerSecond = 5e6;

    public static readonly TimeSpan DefaultUploadOverhead = TimeSpan.FromSeconds(2);

    public static readonly TimeSpan DefaultStep = TimeSpan.FromSeconds(2);

    /// <summary>Whether to stop now, at <paramref name="now"/>, for <paramref name="deadline"/>.</summary>
    public static DeadlineDecision Decide(DateTimeOffset now, DateTimeOffset deadline, DeadlineInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var write = inputs.CheckpointWrite is { } w ? w * SafetyFactor : DefaultWriteOverhead + TimeSpan.FromSeconds(inputs.CheckpointBytes / DefaultWriteBytesPerSecond);
        var upload = !inputs.RemoteStore ? TimeSpan.Zero
            : inputs.Upload is { } u ? u * SafetyFactor : DefaultUploadOverhead + TimeSpan.FromSeconds(inputs.CheckpointBytes / DefaultUploadBytesPerSecond);
        var step = inputs.Step is { } s ? s * SafetyFactor : DefaultStep;
        var steps = step * Math.Max(1, inputs.StepsToNextStop);
        var epochEnd = !inputs.EpochEndsFirst ? TimeSpan.Zero
            : inputs.EpochEnd is { } e ? e * SafetyFactor : (step * Math.Max(0, inputs.EvaluationBatches)) + write;
        var reserve = write + upload + steps + epochEnd + Margin;
        var left = deadline - now;
        var breakdown = FormattableString.Invariant($"checkpoint {write.TotalSeconds:F2} s, upload {upload.TotalSeconds:F2} s, {Math.Max(1, inputs.StepsToNextStop)} step(s) {steps.TotalSeconds:F2} s, epoch end {epochEnd.TotalSeconds:F2} s, margin {Margin.TotalSeconds:F0} s");
        return new DeadlineDecision(left <= reserve, left, reserve, breakdown);
    }
}
