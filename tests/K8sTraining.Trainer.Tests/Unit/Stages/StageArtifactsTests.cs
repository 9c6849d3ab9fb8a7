using K8sTraining.Contract;
using K8sTraining.Training.Stages;
using K8sTraining.Training.Storage;

namespace K8sTraining.Trainer.Tests.Unit.Stages;

[Trait("Category", "Unit")]
public sealed class StageArtifactsTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("stage-artifacts-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData("best weights", "stages/warmup/best/model.bin", true)]
    [InlineData("last info", "stages/warmup/last/stage.json", true)]
    [InlineData("another folder", "stages/warmup/other/model.bin", false)]
    [InlineData("a temporary", "stages/warmup/best/.model.bin.tmp-1", false)]
    [InlineData("path tricks", "stages/../best/model.bin", false)]
    [InlineData("too deep", "stages/warmup/best/x/model.bin", false)]
    [InlineData("no stage", "stages/best/model.bin", false)]
    public void IsArtifact_Should_AcceptOnlyAStagesBestOrLastFiles_When_ReadFromARemoteKey(string name, string relative, bool expected) =>
        Assert.True(expected == StageArtifacts.IsArtifact(relative), name);

    [Fact]
    public void Write_Should_LeaveFilesTheArtifactSyncUploads_When_AStageEnds()
    {
        var info = new StageArtifactInfo("warmup", 0, 1, 12, null);
        StageArtifacts.Write(_root, "warmup", ArtifactLayout.StageLastFolderName, [("model.bin", [1, 2, 3])], info);
        StageArtifacts.Write(_root, "warmup", ArtifactLayout.StageBestFolderName, [("model.bin", [4])], info);

        Assert.Equal(
            ["stages/warmup/best/model.bin", "stages/warmup/best/stage.json", "stages/warmup/last/model.bin", "stages/warmup/last/stage.json"],
            StageArtifacts.LocalFiles(_root));
        Assert.True(ArtifactSync.LocalArtifacts(_root).SequenceEqual(StageArtifacts.LocalFiles(_root)));
        Assert.All(ArtifactSync.LocalArtifacts(_root), f => Assert.True(ArtifactSync.IsArtifact(f), f));
        Assert.Equal([1, 2, 3], File.ReadAllBytes(Path.Combine(_root, "stages", "warmup", "last", "model.bin")));
    }
}
