namespace K8sTraining.Operator.Reconciliation;

/// <summary>A position in training: after <see cref="GlobalStep"/> steps, in epoch <see cref="Epoch"/>.</summary>
public sealed record TrainingPosition(long GlobalStep, int Epoch, long StepInEpoch);

/// <summary>
/// What the trainer of a running attempt reported about itself (read from its /metrics by the shell): where it is,
/// the newest checkpoint a replacement would resume from, if it has committed one, and where this attempt resumed
/// (<see cref="TrainingPosition"/> 0/0/0 when it started from the beginning; null when the trainer does not say), and its
/// durable best checkpoint (null while it has none, or the trainer does not say), and the stage a staged run is in
/// (<see cref="TrainerStage"/>; null without stages).
/// </summary>
public sealed record TrainerReport(string Pod, TrainingPosition Position, TrainingPosition? Checkpoint, TrainingPosition? ResumedFrom = null, K8sTraining.Contract.BestCheckpoint? Best = null, TrainerStage? Stage = null);

/// <summary>The stage a staged run is in, from the trainer's stage gauge: its 0-based index and its name.</summary>
public sealed record TrainerStage(int Index, string? Name);
