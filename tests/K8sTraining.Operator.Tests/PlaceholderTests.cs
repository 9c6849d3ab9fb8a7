namespace K8sTraining.Operator.Tests;

public sealed class PlaceholderTests
{
}
