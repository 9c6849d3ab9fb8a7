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

    [Fact]
    public void Admit_Should_CheckAHugeListInOnePass_When_ItIsAListMapOrAUniqueSet()
    {
        // 30,000 items: comparing every pair (as before) takes minutes, and the API server's store is locked meanwhile.
        var schema = JsonNode.Parse("""
            {"type": "object", "properties": {"spec": {"type": "object", "properties": {
              "env": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                      "items": {"type": "object", "properties": {"name": {"type": "string"}, "value": {"type": "string"}}}},
              "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
              "ids": {"type": "array", "uniqueItems": true, "items": {"type": "integer"}}}}}}
            """)!.AsObject();
        var env = new JsonArray(Enumerable.Range(0, 30_000).Select(i => (JsonNode?)new JsonObject { ["name"] = $"N{i}", ["value"] = "v" }).ToArray());
        env.Add(new JsonObject { ["value"] = "w", ["name"] = "N7" });
        var tags = new JsonArray(Enumerable.Range(0, 30_000).Select(i => (JsonNode?)$"t{i}").Append("t3").ToArray());
        var ids = new JsonArray(Enumerable.Range(0, 30_000).Select(i => (JsonNode?)i).Concat([(JsonNode?)5, 5]).ToArray());
        var obj = new JsonObject { ["spec"] = new JsonObject { ["env"] = env, ["tags"] = tags, ["ids"] = ids } };

        var watch = System.Diagnostics.Stopwatch.StartNew();
        var errors = StructuralSchema.Admit(obj, schema, strictUnknownFields: true);

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");
        Assert.Equal(
            new[] { "spec.env[30000]: Duplicate value: map[string]interface {}{\"name\":\"N7\"}", "spec.tags[30000]: Duplicate value: \"t3\"", "spec.ids[30000]: Duplicate value: 5", "spec.ids[30001]: Duplicate value: 5", "spec.ids[30001]: Duplicate value: 5"}.Order(StringComparer.Ordinal),
            errors.Select(e => e.ToString()).Order(StringComparer.Ordinal).ToList());
    }

    [Fact]
    public void Admit_Should_SayRequiredOnce_When_AListMapItemLacksItsKey()
    {
        var schema = JsonNode.Parse("""
            {"type": "object", "properties": {"spec": {"type": "object", "properties": {
              "sidecars": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                           "items": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "image": {"type": "string"}}}}}}}}
            """)!.AsObject();
        var obj = JsonNode.Parse("""{"spec": {"sidecars": [{"image": "a"}, {"name": "b"}]}}""")!.AsObject();

        var errors = StructuralSchema.Admit(obj, schema, strictUnknownFields: true);

        Assert.Equal(["spec.sidecars[0].name: Required value"], errors.Select(e => e.ToString()));
    }
}
