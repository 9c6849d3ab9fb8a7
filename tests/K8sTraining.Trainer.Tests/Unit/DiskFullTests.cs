using K8sTraining.Training.Hosting;

namespace K8sTraining.Trainer.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class DiskFullTests
{
    public static TheoryData<string, Exception, bool> Cases => new()
    {
        { "ENOSPC message", new IOException("No space left on device : '/ckpt/step-000000000050.tmp-1/model.bin'"), true },
        { "a quota", new IOException("Disk quota exceeded"), true },
        { "ENOSPC by number", new IOException("write failed", 28), true },
        { "wrapped in another error", new InvalidOperationException("checkpoint write failed", new IOException("No space left on device")), true },
        { "another I/O error", new IOException("Input/output error"), false },
        { "not I/O at all", new InvalidOperationException("No space left on device"), false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void DiskFull_Should_FindTheFullVolume_When_TheErrorSaysSo(string name, Exception error, bool full)
    {
        Assert.True((TrainingWorker.DiskFull(error) is not null) == full, name);
    }
}
