namespace K8sTraining.Trainer.Tests.Integration;

/// <summary>Trainer processes run one test at a time: the signal timing tests need the CPU they are given.</summary>
[CollectionDefinition(Name)]
public sealed class TrainerProcessCollection
{
    public const string Name = "trainer processes";
}
