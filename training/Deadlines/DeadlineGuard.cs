using System.Globalization;
using K8sTraining.Training.Loop;
using TorchSharp;

namespace K8sTraining.Training.Deadlines;

/// <summary>
/// <c>--deadline</c> in the training loop: asked at every step boundary whether to stop now (<see cref="DeadlineRule"/>),
/// it measures this attempt's steps, epoch ends, checkpoint writes and uploads as they happen. A stop it decides goes the
/// way a SIGTERM stop goes (checkpoint, flush to the store) and ends <see cref="TrainingOutcome.DeadlineExceeded"/>.
/// Without a deadline it never stops anything (<see cref="None"/>).
/// </summary>
public sealed class DeadlineGuard
{
    private readonly Lock gate = new();
    private readonly Dictionary<long, DateTimeOffset> pendingUploads = [];
    private readonly DateTimeOffset? attemptDeadline;
    private readonly bool enabled;
    private readonly TimeProvider time;
    private readonly long checkpointBytes;
    private readonly int evaluationBatches;
    private readonly Func<long?>? newestRemoteStep;
    private DateTimeOffset? lastBoundary;
    private int lastEpoch = -1;
    private TimeSpan? slowestStep;
    private TimeSpan? slowestEpochEnd;
    private TimeSpan? slowestWrite;
    private TimeSpan? slowestUpload;
    private DateTimeOffset decidedAt;
    private (DateTimeOffset Deadline, string Cause)? limit;

    /// <summary>A guard for the attempt's <paramref name="deadline"/> (null: none) and, with <paramref name="stageLimits"/>, the stages' own time limits (<see cref="EnterStage"/>).</summary>
    public DeadlineGuard(DateTimeOffset? deadline, TimeProvider time, long checkpointBytes, int evaluationBatches, Func<long?>? newestRemoteStep, bool stageLimits = false)
    {
        ArgumentNullException.ThrowIfNull(time);
        attemptDeadline = deadline;
        enabled = deadline is not null || stageLimits;
        limit = StageTimeLimit.Of(deadline, "", time.GetUtcNow(), null);
        this.time = time;
        this.checkpointBytes = checkpointBytes;
        this.evaluationBatches = evaluationBatches;
        this.newestRemoteStep = newestRemoteStep;
    }

    /// <summary>No deadline: never stops.</summary>
    public static DeadlineGuard None { get; } = new(null, TimeProvider.System, 0, 0, null);

    /// <summary>Why the run stopped, once the guard stopped it (the stop message's cause); null otherwise.</summary>
    public string? StopCause { get; private set; }

    /// <summary>
    /// The guard for this run: the checkpoint size estimated from the model's weights and buffers (weights, optimizer
    /// slots and an EMA: 4 times), the evaluation from the test and validation splits.
    /// </summary>
    public static DeadlineGuard For(DateTimeOffset? deadline, bool stageLimits, torch.nn.Module model, int evaluationSamples, int batchSize, Func<long?>? newestRemoteStep)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (deadline is null && !stageLimits)
        {
            return None;
        }
        var stateBytes = model.state_dict().Values.Sum(t => t.numel() * t.ElementSize);
        return new DeadlineGuard(deadline, TimeProvider.System, 4 * stateBytes, (evaluationSamples + batchSize - 1) / Math.Max(1, batchSize), newestRemoteStep, stageLimits);
    }

    /// <summary>
    /// The run enters (or resumes inside) the stage <paramref name="stage"/>: from now on it stops for the stage's time
    /// limit (<paramref name="maxDurationSeconds"/> from now) or the attempt's deadline, whichever comes first.
    /// </summary>
    public void EnterStage(string stage, int? maxDurationSeconds)
    {
        ArgumentNullException.ThrowIfNull(stage);
        if (!enabled)
        {
            return;
        }
        lock (gate)
        {
            limit = StageTimeLimit.Of(attemptDeadline, stage, time.GetUtcNow(), maxDurationSeconds);
        }
    }

    /// <summary>
    /// The message when the deadline passed before the run could start (exit 75 at once, nothing trained); null when
    /// there is none or it is still ahead.
    /// </summary>
    public static string? PassedAtStart(DateTimeOffset? deadline, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        var now = time.GetUtcNow();
        return deadline is { } d && now >= d
            ? $"Deadline {DeadlineInstant.Format(d)} passed before training started ({DeadlineInstant.Format(now)}): nothing trained; raise the deadline to continue"
            : null;
    }

    /// <summary>
    /// Called at every step boundary (batch <paramref name="stepInEpoch"/> of <paramref name="epoch"/> is next): measures
    /// the step that just ended, and where the run may stop (the start of a group), says whether it must stop now.
    /// </summary>
    public bool Due(int epoch, int stepInEpoch, OptimizerStepPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (!enabled)
        {
            return false;
        }
        var now = time.GetUtcNow();
        Measure(now, epoch);
        (DateTimeOffset Deadline, string Cause)? current;
        lock (gate)
        {
            current = limit;
        }
        if (current is not { } limited)
        {
            return false;
        }
        var (d, cause) = limited;
        if (!plan.StartsGroup(stepInEpoch))
        {
            return false;
        }
        var group = plan.GroupSize(stepInEpoch);
        DeadlineInputs inputs;
        lock (gate)
        {
            inputs = new DeadlineInputs(checkpointBytes, newestRemoteStep is not null, group, stepInEpoch + group >= plan.Batches, evaluationBatches, slowestWrite, slowestUpload, slowestStep, slowestEpochEnd);
        }
        var decision = DeadlineRule.Decide(now, d, inputs);
        if (decision.Stop)
        {
            decidedAt = now;
            StopCause = string.Create(CultureInfo.InvariantCulture,
                $"for {cause} ({decision.Left.TotalSeconds:F2} s left, within the reserve of {decision.Reserve.TotalSeconds:F2} s: {decision.Breakdown})");
        }
        return decision.Stop;
    }

    /// <summary>A checkpoint committed locally in <paramref name="elapsed"/> (from the writer's thread); with a remote store its upload starts now.</summary>
    public void RecordCheckpoint(long globalStep, TimeSpan elapsed)
    {
        if (!enabled)
        {
            return;
        }
        lock (gate)
        {
            slowestWrite = Max(slowestWrite, elapsed);
            if (newestRemoteStep is not null)
            {
                pendingUploads[globalStep] = time.GetUtcNow();
            }
        }
    }

    /// <summary>The outcome of a stop the guard decided (how long the stop took of the reserve, in its message); other outcomes as they are.</summary>
    public TrainingOutcome Explain(TrainingOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        if (StopCause is null || outcome is not TrainingOutcome.Interrupted interrupted)
        {
            return outcome;
        }
        var took = time.GetUtcNow() - decidedAt;
        return new TrainingOutcome.DeadlineExceeded(string.Create(CultureInfo.InvariantCulture,
            $"{interrupted.Message}; the stop took {took.TotalSeconds:F2} s. Resume by raising the deadline."));
    }

    private void Measure(DateTimeOffset now, int epoch)
    {
        lock (gate)
        {
            if (lastBoundary is { } last)
            {
                var elapsed = now - last;
                if (epoch == lastEpoch)
                {
                    slowestStep = Max(slowestStep, elapsed);
                }
                else
                {
                    slowestEpochEnd = Max(slowestEpochEnd, elapsed);
                }
            }
            lastBoundary = now;
            lastEpoch = epoch;
            if (newestRemoteStep?.Invoke() is { } committed)
            {
                // The queue may skip older checkpoints: the newest one committed measures the upload; older ones are done.
                var done = pendingUploads.Keys.Where(k => k <= committed).ToList();
                if (done.Count > 0)
                {
                    slowestUpload = Max(slowestUpload, now - pendingUploads[done.Max()]);
                    done.ForEach(k => pendingUploads.Remove(k));
                }
            }
        }
    }

    private static TimeSpan Max(TimeSpan? a, TimeSpan b) => a is { } x && x > b ? x : b;
}
