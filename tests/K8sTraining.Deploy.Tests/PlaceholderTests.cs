namespace K8sTraining.Deploy.Tests;

public sealed class PlaceholderTests
{
}
