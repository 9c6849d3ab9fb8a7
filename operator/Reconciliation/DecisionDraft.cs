using System.Globalization;
using K8sTraining.Operator.Api;
using k8s.Models;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>
/// One decision being made: the inputs (job, now, the trainer's report, the Nodes) and what the pieces of the decider
/// (<see cref="NextAction"/>, <see cref="AttemptEnd"/>, <see cref="AttemptStatus"/>, <see cref="JobLifecycle"/>,
/// <see cref="NodeLossSteps"/>) add to it: the new status, the writes, the Events and when to look again.
/// </summary>
internal sealed class DecisionDraft(TrainingJob job, TrainingJobStatus status, DateTimeOffset now, TrainerReport? report, IReadOnlyDictionary<string, V1Node?> nodes, InitSource? init = null)
{
    /// <summary>spec.initFrom.trainingJob as the shell resolved it; null when the spec names none.</summary>
    public InitSource? Init => init;

    public TrainingJob Job => job;

    public DateTimeOffset Now => now;

    /// <summary>What the running attempt's trainer said about itself, when the shell could ask it.</summary>
    public TrainerReport? Report => report;

    /// <summary>The Nodes of the job's pods by name (null: known to be deleted); a missing name is unknown.</summary>
    public IReadOnlyDictionary<string, V1Node?> Nodes => nodes;

    public TrainingJobStatus Status { get; } = status;

    public List<JobAction> Actions { get; } = [];

    public List<JobEvent> Events { get; } = [];

    public TimeSpan? RequeueAfter { get; private set; }

    public TrainingJobSpec Spec => job.Spec;

    public string Name => job.Metadata.Name;

    public long? Generation => job.Metadata.Generation;

    public IList<V1Condition> ConditionList => Status.Conditions ??= [];

    public void SetPhase(string phase, string reason, string message)
    {
        Status.Phase = phase;
        var list = ConditionList;
        Conditions.Set(list, ConditionTypes.Running, phase == JobPhases.Running, reason, message, Generation, now);
        switch (phase)
        {
            case JobPhases.Succeeded:
                Conditions.Set(list, ConditionTypes.Succeeded, true, reason, message, Generation, now);
                break;
            case JobPhases.Failed:
                Conditions.Set(list, ConditionTypes.Failed, true, reason, message, Generation, now);
                break;
            case JobPhases.Suspended:
                Conditions.Set(list, ConditionTypes.Suspended, true, reason, message, Generation, now);
                break;
        }
    }

    public void Fail(string reason, string message, string eventReason = EventReasons.Failed)
    {
        Status.CompletionTime = now.UtcDateTime;
        Status.NextAttemptTime = null;
        SetPhase(JobPhases.Failed, reason, message);
        Events.Add(JobEvent.Warning(eventReason, $"Job failed ({reason}): {message}"));
    }

    public void Requeue(TimeSpan after)
    {
        if (after < TimeSpan.Zero)
        {
            after = TimeSpan.Zero;
        }

        RequeueAfter = RequeueAfter is { } existing && existing < after ? existing : after;
    }

    public string ResumeText() =>
        Status.ResumeFrom is { } r
            ? $"resumes from {r.Location} (global step {r.GlobalStep}{(r.Epoch is null ? "" : $", epoch {r.Epoch}, step in epoch {r.StepInEpoch}")})"
            : "starts from the beginning (no uploaded checkpoint)";

    public string AccuracyText() => Status.TestAccuracy is { } a ? $", test accuracy {a.ToString("0.####", CultureInfo.InvariantCulture)}" : "";

    public static CheckpointRecord Clone(CheckpointRecord r) =>
        new() { GlobalStep = r.GlobalStep, Epoch = r.Epoch, StepInEpoch = r.StepInEpoch, Location = r.Location, Uploaded = r.Uploaded, Time = r.Time };

    public static bool HasFinalizer(V1Pod pod) => pod.Metadata?.Finalizers?.Contains(WellKnown.TrackingFinalizer) == true;
}
