namespace K8sTraining.Trainer.Tests.Unit.Models;

/// <summary>
/// Tests that seed torch's process-wide generator and then build a model: they run alone (after the parallel tests),
/// so no other test draws from that generator between the seed and the weights it is meant to fix.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchRandomCollection
{
    public const string Name = "torch's global random generator";
}
