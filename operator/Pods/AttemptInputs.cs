namespace K8sTraining.Operator.Pods;

/// <summary>
/// What the decider worked out for one attempt's pod beyond the job itself: the attempt's deadline (TRAINER_DEADLINE),
/// the resolved fine-tuning source (TRAINER_INIT_FROM for spec.initFrom.trainingJob) and whether the trainer may resume
/// under changed learning-rate, schedule or optimizer settings (TRAINER_RECONFIGURE).
/// </summary>
public sealed record AttemptInputs(DateTimeOffset? Deadline = null, string? InitFromUri = null, bool Reconfigure = false);
