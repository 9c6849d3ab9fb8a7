using System.Text;
using K8sTraining.Training.Checkpoints;

namespace K8sTraining.Trainer.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class CheckpointManifestTests
{
    private static readonly string Sha = new('a', 64);

    [Fact]
    public void ParseVerified_Should_ReadTheManifestTheLocalStoreWrites_When_StorageRestoresIt()
    {
        var written = new CheckpointManifest(CheckpointManifest.CurrentFormatVersion, 40, 1, 8, DateTimeOffset.UnixEpoch, [new CheckpointFileEntry("model.bin", 12, Sha)]);

        var read = CheckpointManifest.ParseVerified(Encoding.UTF8.GetBytes(written.ToJson()));

        Assert.Equal((written.FormatVersion, written.GlobalStep, written.Epoch, written.StepInEpoch), (read.FormatVersion, read.GlobalStep, read.Epoch, read.StepInEpoch));
        Assert.Equal(written.Files, read.Files);
    }

    [Theory]
    [InlineData("no files", """{"formatVersion":1,"globalStep":1,"files":[]}""")]
    [InlineData("a path, not a file name", """{"formatVersion":1,"globalStep":1,"files":[{"name":"../x","size":1,"sha256":"SHA"}]}""")]
    [InlineData("the manifest itself", """{"formatVersion":1,"globalStep":1,"files":[{"name":"manifest.json","size":1,"sha256":"SHA"}]}""")]
    [InlineData("a negative size", """{"formatVersion":1,"globalStep":1,"files":[{"name":"m.bin","size":-1,"sha256":"SHA"}]}""")]
    [InlineData("an upper-case sha256", """{"formatVersion":1,"globalStep":1,"files":[{"name":"m.bin","size":1,"sha256":"UPPER"}]}""")]
    [InlineData("a short sha256", """{"formatVersion":1,"globalStep":1,"files":[{"name":"m.bin","size":1,"sha256":"abc"}]}""")]
    [InlineData("empty", "null")]
    public void ParseVerified_Should_Refuse_When_TheManifestNamesSomethingOtherThanPlainVerifiableFiles(string name, string json)
    {
        _ = name;
        var bytes = Encoding.UTF8.GetBytes(json.Replace("UPPER", new string('A', 64), StringComparison.Ordinal).Replace("SHA", Sha, StringComparison.Ordinal));

        Assert.Throws<InvalidDataException>(() => CheckpointManifest.ParseVerified(bytes));
    }
}
