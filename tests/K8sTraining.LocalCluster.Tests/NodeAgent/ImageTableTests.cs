using K8sTraining.NodeAgent.Images;

namespace K8sTraining.LocalCluster.Tests.NodeAgent;

[Trait("Category", "Unit")]
public sealed class ImageTableTests
{
    private static readonly ImageTable Table = ImageTable.Load(
        Path.Combine(RepositoryPaths.Root, "localcluster", "images.yaml"), "/repo");

    [Theory]
    [InlineData("busybox", "docker.io/library/busybox:latest")]
    [InlineData("busybox:1.36", "docker.io/library/busybox:1.36")]
    [InlineData("me/app:1", "docker.io/me/app:1")]
    [InlineData("ghcr.io/k8straining/trainer:0.1.0", "ghcr.io/k8straining/trainer:0.1.0")]
    [InlineData("localhost:5000/app", "localhost:5000/app:latest")]
    [InlineData("ghcr.io/x/y@sha256:abc", "ghcr.io/x/y@sha256:abc")]
    public void Normalize_Should_NameImagesLikeARuntime_When_GivenShortReferences(string image, string expected)
    {
        Assert.Equal(expected, ImageReference.Normalize(image));
    }

    [Fact]
    public void Resolve_Should_MapTrainerImageToPublishedTrainer_When_AnyTagIsUsed()
    {
        var image = Table.Resolve("ghcr.io/k8straining/trainer:0.3.1");

        Assert.NotNull(image);
        Assert.Equal(["dotnet", "/repo/.local/publish/trainer/K8sTraining.Trainer.dll"], image.Entrypoint);
        Assert.Empty(image.Cmd);
    }

    [Theory]
    [InlineData("busybox")]
    [InlineData("busybox:1.36")]
    [InlineData("docker.io/library/busybox:stable")]
    public void Resolve_Should_GiveShellImage_When_BusyboxIsNamedAnyWay(string reference)
    {
        var image = Table.Resolve(reference);

        Assert.NotNull(image);
        Assert.Empty(image.Entrypoint);
        Assert.Equal(["sh"], image.Cmd);
    }

    [Theory]
    [InlineData("nginx:1.27")]
    [InlineData("ghcr.io/k8straining/trainerx:1")]
    [InlineData("example.com/k8straining/trainer:1")]
    public void Resolve_Should_ReturnNull_When_ImageIsNotInTheTable(string reference)
    {
        Assert.Null(Table.Resolve(reference));
    }

    [Fact]
    public void HostEnvironment_Should_PassPathAndDotnetRoot_When_LoadedFromTheDocumentedTable()
    {
        Assert.Contains("PATH", Table.HostEnvironment);
        Assert.Contains("DOTNET_ROOT", Table.HostEnvironment);
    }
}
