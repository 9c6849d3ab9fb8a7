using System.Text.Json;
using System.Text.Json.Nodes;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Runtime;

namespace K8sTraining.Operator.Tests.Runtime;

[Trait("Category", "Unit")]
public sealed class UndecodableJobStatusTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 30, 10, 0, 0, TimeSpan.Zero);

    private const string Problem = "spec.tolerations[0].tolerationSeconds: \"soon\" is not a 64-bit integer";

    private static readonly string Reported = UndecodableJobStatus.Message(Job(1, "null"));

    public static TheoryData<string, long, string, bool, string?> Cases => new()
    {
        { "a job with no status yet", 1, "null", true, "2026-11-30T10:00:00Z" },
        { "already reported for this generation", 2, Status(Condition("False", ConditionReasons.Undecodable, Reported, 2, "2026-11-29T08:00:00Z")), false, null },
        { "reported for an older generation", 3, Status(Condition("False", ConditionReasons.Undecodable, Reported, 2, "2026-11-29T08:00:00Z")), true, "2026-11-29T08:00:00Z" },
        { "valid before it became undecodable", 3, Status(Condition("True", ConditionReasons.Valid, "the spec is valid", 2, "2026-11-29T08:00:00Z")), true, "2026-11-30T10:00:00Z" },
        { "invalid for another reason before", 3, Status(Condition("False", ConditionReasons.InvalidSpec, "spec.training.model: unknown", 2, "2026-11-29T08:00:00Z")), true, "2026-11-29T08:00:00Z" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Next_Should_WriteSpecValidFalseOncePerGeneration_When_AJobCannotBeDecoded(string because, long generation, string status, bool writes, string? lastTransitionTime)
    {
        var next = UndecodableJobStatus.Next(Job(generation, status), Now);

        Assert.True(writes == next is not null, because);
        if (next is null)
        {
            return;
        }

        var condition = Assert.Single(next["status"]!["conditions"]!.AsArray(), c => (string?)c!["type"] == ConditionTypes.SpecValid)!;
        Assert.Equal("False", (string?)condition["status"]);
        Assert.Equal(ConditionReasons.Undecodable, (string?)condition["reason"]);
        Assert.Equal(generation, (long?)condition["observedGeneration"]);
        Assert.Equal(lastTransitionTime, (string?)condition["lastTransitionTime"]);
        Assert.Contains(Problem, (string?)condition["message"], StringComparison.Ordinal);
        Assert.Contains("kubectl edit trainingjob bad -n ns", (string?)condition["message"], StringComparison.Ordinal);
    }

    [Fact]
    public void Next_Should_KeepTheOtherConditionsAndTheResourceVersion_When_UpdatingSpecValid()
    {
        var job = Job(2, Status(
            Condition("True", ConditionReasons.PodRunning, "pod bad-attempt-1 is running", 1, "2026-11-29T08:00:00Z"),
            Condition("True", ConditionReasons.Valid, "the spec is valid", 1, "2026-11-29T08:00:00Z")));

        var next = UndecodableJobStatus.Next(job, Now)!;

        Assert.Equal("42", (string?)next["metadata"]!["resourceVersion"]);
        Assert.Equal([ConditionTypes.Running, ConditionTypes.SpecValid], next["status"]!["conditions"]!.AsArray().Select(c => (string?)c!["type"]));
        Assert.Equal("Running", (string?)next["status"]!["phase"]);
    }

    private static UndecodableObject Job(long generation, string status)
    {
        using var document = JsonDocument.Parse($$$"""
            {"apiVersion":"k8straining.io/v1alpha1","kind":"TrainingJob",
             "metadata":{"name":"bad","namespace":"ns","uid":"u-1","generation":{{{generation}}},"resourceVersion":"42"},
             "spec":{"training":{"model":"mlp"},"tolerations":[{"key":"spot","operator":"Exists","tolerationSeconds":"soon"}]},
             "status":{{{status}}}}
            """);
        var raw = document.RootElement.Clone();
        return new UndecodableObject("ns", "bad", "u-1", generation, "42", raw, Problem);
    }

    private static string Status(params string[] conditions) => $$"""{"phase":"Running","conditions":[{{string.Join(",", conditions)}}]}""";

    private static string Condition(string status, string reason, string message, long generation, string time) =>
        new JsonObject
        {
            ["type"] = reason == ConditionReasons.PodRunning ? ConditionTypes.Running : ConditionTypes.SpecValid,
            ["status"] = status,
            ["reason"] = reason,
            ["message"] = message,
            ["observedGeneration"] = generation,
            ["lastTransitionTime"] = time,
        }.ToJsonString();
}
