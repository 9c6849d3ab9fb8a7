using K8sTraining.CheckpointSync.Sync;

namespace K8sTraining.CheckpointSync.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class StepDirectoriesTests
{
    public static TheoryData<string, string[], long, string?> Cases => new()
    {
        { "empty directory", [], -1, null },
        { "one complete checkpoint", ["step-000000000010"], -1, "step-000000000010" },
        { "the newest of several new ones", ["step-000000000010", "step-000000000030", "step-000000000020"], -1, "step-000000000030" },
        { "nothing newer than the handled step", ["step-000000000010", "step-000000000020"], 20, null },
        { "only the one above the handled step", ["step-000000000010", "step-000000000020"], 10, "step-000000000020" },
        { "a temporary of the trainer", [".tmp-step-000000000040-123", "step-000000000040.tmp", "step-000000000040-partial"], -1, null },
        { "the sidecar's own folders and the ready file", [".remote-staging", ".restore-step-000000000050-9", ".checkpoint-sync-ready"], -1, null },
        { "too few digits", ["step-10", "step-00000000010"], -1, null },
        { "too many digits", ["step-0000000000100"], -1, null },
        { "a temporary beside a complete one", ["step-000000000010", ".tmp-step-000000000020-1"], -1, "step-000000000010" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void NewestAfter_Should_PickTheNewestCompleteStepDirectory_When_Listed(string because, string[] names, long handled, string? expected)
    {
        Assert.True(expected == StepDirectories.NewestAfter(names, handled)?.Name, because);
    }
}
