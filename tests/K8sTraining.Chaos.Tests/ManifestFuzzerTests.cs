using System.Text.Json.Nodes;
using K8sTraining.Chaos.Fuzz;

namespace K8sTraining.Chaos.Tests;

[Trait("Category", "Unit")]
public sealed class ManifestFuzzerTests
{
    private static JsonObject SpecSchema() => JsonNode.Parse("""
        {"type":"object","properties":{
          "image":{"type":"string"},
          "suspend":{"type":"boolean"},
          "training":{"type":"object","required":["model"],"properties":{
            "model":{"type":"string","enum":["mlp","cnn"]},
            "epochs":{"type":"integer","minimum":1,"maximum":2147483647},
            "learningRate":{"type":"number"}}},
          "env":{"type":"array","items":{"type":"object","properties":{"name":{"type":"string"},"value":{"type":"string"}}}}}}
        """)!.AsObject();

    [Fact]
    public void Paths_Should_ListEveryDeclaredProperty_When_GivenTheSpecSchema()
    {
        var fuzzer = new ManifestFuzzer(new Random(1), SpecSchema(), "k8straining.io/v1alpha1", "TrainingJob");

        Assert.Equal(
            ["spec.env", "spec.env.[].name", "spec.env.[].value", "spec.image", "spec.suspend", "spec.training", "spec.training.epochs", "spec.training.learningRate", "spec.training.model"],
            fuzzer.Paths.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Next_Should_ReplayTheSameManifests_When_TheSeedIsTheSame()
    {
        var first = new ManifestFuzzer(new Random(19), SpecSchema(), "k8straining.io/v1alpha1", "TrainingJob");
        var second = new ManifestFuzzer(new Random(19), SpecSchema(), "k8straining.io/v1alpha1", "TrainingJob");
        var other = new ManifestFuzzer(new Random(20), SpecSchema(), "k8straining.io/v1alpha1", "TrainingJob");

        var a = Enumerable.Range(0, 50).Select(i => first.Next("ns", $"j{i}", "img")).ToList();
        var b = Enumerable.Range(0, 50).Select(i => second.Next("ns", $"j{i}", "img")).ToList();
        var c = Enumerable.Range(0, 50).Select(i => other.Next("ns", $"j{i}", "img")).ToList();

        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void Next_Should_DrawEveryKindOfMutation_When_ManyManifestsAreMade()
    {
        var fuzzer = new ManifestFuzzer(new Random(5), SpecSchema(), "k8straining.io/v1alpha1", "TrainingJob");

        var manifests = Enumerable.Range(0, 400).Select(i => fuzzer.Next("ns", $"j{i}", "img")).ToList();
        var mutations = string.Join("\n", manifests.Select(m => m.Mutations));

        foreach (var mark in new[] { "(wrong type)", "=null", "<huge", "(unknown field)", " removed", "metadata.name=", "truncated body", "not JSON" })
        {
            Assert.Contains(mark, mutations, StringComparison.Ordinal);
        }

        // Whatever was done to it, a manifest that is still JSON keeps its kind of document: an object, an array or a string.
        Assert.All(manifests.Where(m => !m.Mutations.Contains("truncated", StringComparison.Ordinal) && !m.Mutations.Contains("not JSON", StringComparison.Ordinal)), m => Assert.NotNull(JsonNode.Parse(m.Body)));
    }

    [Fact]
    public void Base_Should_BeAJobThatExitsAtOnce_When_NothingIsMutated()
    {
        var fuzzer = new ManifestFuzzer(new Random(1), SpecSchema(), "k8straining.io/v1alpha1", "TrainingJob");

        var job = fuzzer.Base("ns", "j", "img");

        Assert.Equal("exit 0", (string?)job["spec"]!["env"]![0]!["value"]);
        Assert.Equal(("ns", "j"), ((string?)job["metadata"]!["namespace"], (string?)job["metadata"]!["name"]));
    }
}
