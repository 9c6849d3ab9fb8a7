using System.Text.Json.Nodes;
using K8sTraining.LocalCluster.Schema;

namespace K8sTraining.LocalCluster.Tests.ApiServer;

/// <summary>Numbers in a custom resource decoded and stored as the real API server does (int64, else float64, else an error).</summary>
[Trait("Category", "Unit")]
public sealed class JsonNumbersTests
{
    [Theory]
    [InlineData("7", true)]
    [InlineData("-0", true)]
    [InlineData("1.0", true)]
    [InlineData("1e3", true)]
    [InlineData("9007199254740991.0", true)]
    [InlineData("9223372036854775807", true)]
    [InlineData("1.5", false)]
    [InlineData("1e20", false)]
    [InlineData("9223372036854775808", false)]
    [InlineData("1e400", false)]
    public void IsInteger_Should_FollowTheApiServersTypeCheck_When_TheNumberIs(string text, bool integer)
    {
        Assert.Equal(integer, JsonNumbers.IsInteger(text));
    }

    [Theory]
    [InlineData("1.0", "1")]
    [InlineData("1e3", "1000")]
    [InlineData("-0", "0")]
    [InlineData("1e20", "100000000000000000000")]
    [InlineData("0.5", "0.5")]
    [InlineData("12", "12")]
    [InlineData("1e300", "1e300")]
    public void Normalize_Should_StoreTheNumberAsTheServerWritesIt_When_ItIs(string text, string stored)
    {
        var obj = JsonNode.Parse($$"""{"a":{"b":[{{text}}]},"c":{{text}}}""")!;

        Assert.Empty(JsonNumbers.Normalize(obj));

        Assert.Equal(stored, obj["c"]!.ToJsonString());
        Assert.Equal(stored, obj["a"]!["b"]![0]!.ToJsonString());
    }

    [Fact]
    public void Normalize_Should_ReportTheNumber_When_NoFloat64HoldsIt()
    {
        var obj = JsonNode.Parse("""{"spec":{"x":1e400,"y":[2,-1e999]}}""")!;

        Assert.Equal(["1e400", "-1e999"], JsonNumbers.Normalize(obj));
    }

    [Theory]
    [InlineData("""{"spec":{"replicas":2.0}}""", 0)]
    [InlineData("""{"spec":{"replicas":1e20}}""", 1)]
    [InlineData("""{"spec":{"replicas":99999999999999999999}}""", 1)]
    public void Admit_Should_TakeWholeFloatsAsIntegers_When_TheyFitA53BitMantissa(string json, int errors)
    {
        var schema = JsonNode.Parse("""{"type":"object","properties":{"spec":{"type":"object","properties":{"replicas":{"type":"integer"}}}}}""")!.AsObject();

        var found = StructuralSchema.Admit(JsonNode.Parse(json)!.AsObject(), schema, strictUnknownFields: true);

        Assert.Equal(errors, found.Count);
    }
}
