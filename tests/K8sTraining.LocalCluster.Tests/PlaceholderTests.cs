namespace K8sTraining.LocalCluster.Tests;

public sealed class PlaceholderTests
{
}
