using K8sTraining.Trainer.Hosting;

namespace K8sTraining.Trainer.Training;

/// <summary>How the run ended: the exit code and the termination report.</summary>
public sealed record TrainingOutcome(int ExitCode, TerminationReport Report);
