using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;
using K8sTraining.Training.Commands;
using K8sTraining.Training.Options;

namespace K8sTraining.Trainer.Tests.Unit.Commands;

[Trait("Category", "Unit")]
public sealed class CheckpointWeightsTests
{
    private static LocalCheckpoint Checkpoint(long step, BestCheckpoint? best, bool ema) =>
        new($"/ckpt/{CheckpointLayout.DirectoryName(step)}", new CheckpointManifest(
            CheckpointManifest.CurrentFormatVersion, step, 1, 0, DateTimeOffset.UnixEpoch,
            [new CheckpointFileEntry(CheckpointCodec.ModelFile, 1, new string('0', 64)), .. ema ? new[] { new CheckpointFileEntry(CheckpointCodec.EmaFile, 1, new string('0', 64)) } : []],
            best));

    private static BestCheckpoint BestAt(long step, string weights) => new(step, 1, BestMetricNames.ValidationAccuracy, 0.9, weights);

    public static TheoryData<string, string, string?, long, BestCheckpoint?, bool, string> Cases => new()
    {
        { "best chosen by its EMA: the EMA by default", "best", null, 10, BestAt(10, BestWeightsNames.Ema), true, CheckpointCodec.EmaFile },
        { "best chosen by raw weights: raw", "best", null, 10, BestAt(10, BestWeightsNames.Raw), true, CheckpointCodec.ModelFile },
        { "latest: raw by default even when the best is an EMA", "latest", null, 20, BestAt(10, BestWeightsNames.Ema), true, CheckpointCodec.ModelFile },
        { "explicit raw wins over the best's EMA", "best", BestWeightsNames.Raw, 10, BestAt(10, BestWeightsNames.Ema), true, CheckpointCodec.ModelFile },
        { "explicit ema on a step", "step-20", BestWeightsNames.Ema, 20, null, true, CheckpointCodec.EmaFile },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void WeightsFile_Should_PickTheFileTheRuleNames_When_Resolved(string name, string selector, string? weights, long step, BestCheckpoint? best, bool ema, string expected)
    {
        var choice = new CheckpointChoice("/ckpt", selector, weights);

        var file = choice.WeightsFile(Checkpoint(step, best, ema));

        Assert.True(Path.GetFileName(file) == expected, $"{name}: {file}");
    }

    [Fact]
    public void WeightsFile_Should_ExplainTheMissingEma_When_TheRunKeptNone()
    {
        var choice = new CheckpointChoice("/ckpt", "latest", BestWeightsNames.Ema);

        var e = Assert.Throws<InvalidInputException>(() => choice.WeightsFile(Checkpoint(20, null, ema: false)));

        Assert.Contains("--ema-decay", e.Message, StringComparison.Ordinal);
        Assert.Contains($"--weights {BestWeightsNames.Raw}", e.Message, StringComparison.Ordinal);
    }
}
