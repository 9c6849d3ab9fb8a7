using k8s;
using k8s.Models;
using K8sTraining.Deploy.Tests.Support;

namespace K8sTraining.Deploy.Tests.Chart;

[Trait("Category", "Unit")]
public sealed class ChartCrdTests
{
    private static readonly string RepositoryCrds = RepositoryPaths.Of("crds");
    private static readonly string ChartCrds = Path.Combine(RepositoryPaths.Chart, "crds");

    [Fact]
    public void ChartCrds_Should_BeByteIdenticalToTheRepositorysCrds_When_Packaged()
    {
        var expected = Directory.GetFiles(RepositoryCrds, "*.yaml").Select(Path.GetFileName).Order().ToList();
        var shipped = Directory.GetFiles(ChartCrds, "*.yaml").Select(Path.GetFileName).Order().ToList();
        var sync = "cp crds/*.yaml charts/k8s-training/crds/  (from the repository root; delete there what crds/ no longer has)";

        Assert.Contains("trainingjobs.k8straining.io.yaml", expected);
        Assert.True(expected.SequenceEqual(shipped), $"the chart ships [{string.Join(", ", shipped)}] but crds/ holds [{string.Join(", ", expected)}]; run: {sync}");
        foreach (var name in expected)
        {
            var same = File.ReadAllBytes(Path.Combine(RepositoryCrds, name!)).AsSpan()
                .SequenceEqual(File.ReadAllBytes(Path.Combine(ChartCrds, name!)));
            Assert.True(same, $"charts/k8s-training/crds/{name} differs from crds/{name}; run: {sync}");
        }
    }

    [Fact]
    public async Task Template_Should_RenderTheTrainingJobCrd_When_CrdsIncluded()
    {
        var crd = KubernetesYaml.Deserialize<V1CustomResourceDefinition>(
            (await Renders.OfAsync(ValueSets.Default)).Single("CustomResourceDefinition").Yaml);

        Assert.Equal("trainingjobs.k8straining.io", crd.Metadata.Name);
        Assert.Equal(("k8straining.io", "Namespaced"), (crd.Spec.Group, crd.Spec.Scope));
        Assert.Equal(("TrainingJob", "trainingjobs"), (crd.Spec.Names.Kind, crd.Spec.Names.Plural));
        Assert.Contains("tj", crd.Spec.Names.ShortNames);
        var version = Assert.Single(crd.Spec.Versions, v => v.Storage);
        Assert.Equal("v1alpha1", version.Name);
        Assert.NotNull(version.Subresources.Status);
    }
}
