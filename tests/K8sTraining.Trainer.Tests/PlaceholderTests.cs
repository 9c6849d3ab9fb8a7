namespace K8sTraining.Trainer.Tests;

public sealed class PlaceholderTests
{
}
