using System.Text.Json.Nodes;
using K8sTraining.LocalCluster.Schema;

namespace K8sTraining.LocalCluster.Tests.ApiServer;

/// <summary>Schema validation of objects built in C# (in-process callers), whose numbers are not parsed JSON.</summary>
[Trait("Category", "Unit")]
public sealed class StructuralSchemaTests
{
    private static JsonObject Schema() => JsonNode.Parse("""
        {"type": "object", "properties": {"spec": {"type": "object", "properties": {
          "replicas": {"type": "integer", "minimum": 1, "maximum": 3},
          "ratio": {"type": "number", "exclusiveMinimum": true, "minimum": 0},
          "names": {"type": "array", "maxItems": 1, "items": {"type": "string"}}}}}}
        """)!.AsObject();

    [Theory]
    [InlineData(2, 0.5, true)]
    [InlineData(5, 0.5, false)]
    [InlineData(2, 0.0, false)]
    public void Admit_Should_ValidateRanges_When_NumbersAreCSharpValues(int replicas, double ratio, bool valid)
    {
        var obj = new JsonObject
        {
            ["apiVersion"] = "example.io/v1",
            ["kind"] = "Thing",
            ["spec"] = new JsonObject { ["replicas"] = replicas, ["ratio"] = (decimal)ratio, ["names"] = new JsonArray("a") },
        };

        var errors = StructuralSchema.Admit(obj, Schema(), strictUnknownFields: true);

        if (valid)
        {
            Assert.Empty(errors);
        }
        else
        {
            Assert.Single(errors);
        }
    }

    [Fact]
    public void Admit_Should_NameTheBound_When_ACSharpLongIsTooLarge()
    {
        var obj = new JsonObject { ["spec"] = new JsonObject { ["replicas"] = 7L } };

        var error = Assert.Single(StructuralSchema.Admit(obj, Schema(), strictUnknownFields: true));

        Assert.Contains("spec.replicas in body should be less than or equal to 3", error.ToString(), StringComparison.Ordinal);
    }
}
