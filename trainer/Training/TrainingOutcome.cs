using K8sTraining.Contract;

namespace K8sTraining.Trainer.Training;

/// <summary>How the run ended: the exit code (<see cref="TrainerExitCodes"/>) and the termination message.</summary>
public sealed record TrainingOutcome(int ExitCode, TerminationMessage Report);
