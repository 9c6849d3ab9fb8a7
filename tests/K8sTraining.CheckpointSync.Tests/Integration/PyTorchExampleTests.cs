using System.Globalization;
using K8sTraining.CheckpointSync.Tests.Support;
using K8sTraining.Contract;

namespace K8sTraining.CheckpointSync.Tests.Integration;

/// <summary>
/// The PyTorch example (plain torch, nothing of ours) made durable by the checkpoint-sync sidecar, as in a pod that is
/// evicted: both as real processes, s3rver as the store, the replacement on an empty directory.
/// </summary>
[Trait("Category", "Integration")]
public sealed class PyTorchExampleTests(S3rverFixture fixture) : IClassFixture<S3rverFixture>, IDisposable
{
    private const long FinalStep = 3 * (2048 / 32);
    private readonly string scratch = StepDirectory.Scratch();

    [Fact]
    public async Task TrainPy_Should_ResumeFromS3AtTheExactStepAndEndWithTheSameWeights_When_EvictedMidEpochThroughTheSidecar()
    {
        var prefix = "pytorch-" + Guid.NewGuid().ToString("N")[..10];
        using var remote = new RemotePrefix(fixture.Server, prefix);

        // The uninterrupted reference, beside the evicted run, in a torchrun-style world of one (gloo, DDP).
        var referenceDir = Path.Combine(scratch, "reference");
        var referenceLog = Path.Combine(scratch, "reference.log");
        await using var reference = PyTorchExample.Start(referenceDir, referenceLog, extra: new Dictionary<string, string>
        {
            ["WORLD_SIZE"] = "1", ["RANK"] = "0", ["LOCAL_RANK"] = "0", ["MASTER_ADDR"] = "127.0.0.1",
            ["MASTER_PORT"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
        });

        // Attempt 1: the sidecar restores nothing, the trainer is evicted mid-epoch, the sidecar flushes.
        await using var sync1 = SyncProcess.Start(fixture.Server, prefix, scratch);
        await sync1.WaitReadyAsync();
        var log1 = Path.Combine(scratch, "attempt1.log");
        await using var trainer1 = PyTorchExample.Start(sync1.Directory, log1, stepDelayMs: 25);
        await Eventually.TrueAsync(() => Directory.Exists(Path.Combine(sync1.Directory, CheckpointLayout.DirectoryName(20))) || trainer1.HasExited, TimeSpan.FromSeconds(90), "train.py's first checkpoint");
        trainer1.SendSigterm();
        Assert.True(await trainer1.WaitForExitAsync(TimeSpan.FromSeconds(60)) == TrainerExitCodes.Interrupted, trainer1.Output);
        var evicted = PyTorchExample.ReadTerminationMessage(log1, trainer1);
        Assert.Equal(TerminationStatuses.Preempted, evicted.Status);
        var step = evicted.GlobalStep!.Value;
        Assert.InRange(step, 20, FinalStep - 1);
        Assert.Equal(0, await sync1.StopAsync());
        var flushed = sync1.ReadTerminationMessage();
        Assert.True(flushed.CheckpointUploaded, sync1.Process.Output);
        Assert.Equal($"s3://{S3rverServer.Bucket}/{prefix}/{CheckpointLayout.DirectoryName(step)}", flushed.Checkpoint);
        Assert.Equal((step, evicted.Epoch, evicted.StepInEpoch), (flushed.GlobalStep, flushed.Epoch, flushed.StepInEpoch));

        // Attempt 2: an empty directory; the sidecar restores from S3 before the trainer starts, which resumes exactly there.
        await using var sync2 = SyncProcess.Start(fixture.Server, prefix, scratch, env => env[TrainerEnvironment.Attempt] = "2");
        await sync2.WaitReadyAsync();
        var log2 = Path.Combine(scratch, "attempt2.log");
        await using var trainer2 = PyTorchExample.Start(sync2.Directory, log2);
        Assert.True(await trainer2.WaitForExitAsync(TimeSpan.FromSeconds(120)) == TrainerExitCodes.Completed, trainer2.Output);
        var completed = PyTorchExample.ReadTerminationMessage(log2, trainer2);
        Assert.Equal((step, evicted.Epoch, evicted.StepInEpoch), (completed.ResumedFrom?.GlobalStep, completed.ResumedFrom?.Epoch, completed.ResumedFrom?.StepInEpoch));
        Assert.Equal(FinalStep, completed.GlobalStep);
        Assert.Equal(0, await sync2.StopAsync());
        Assert.Equal((FinalStep, 3, 0L), (sync2.ReadTerminationMessage().GlobalStep, sync2.ReadTerminationMessage().Epoch, sync2.ReadTerminationMessage().StepInEpoch));

        // Byte for byte what the uninterrupted run ends with: locally and as committed in S3.
        Assert.True(await reference.WaitForExitAsync(TimeSpan.FromSeconds(120)) == TrainerExitCodes.Completed, reference.Output);
        var final = CheckpointLayout.DirectoryName(FinalStep);
        var expected = File.ReadAllBytes(Path.Combine(referenceDir, final, "weights.bin"));
        var committed = await remote.GetAsync($"{final}/weights.bin");
        Assert.True(expected.SequenceEqual(File.ReadAllBytes(Path.Combine(sync2.Directory, final, "weights.bin"))), "final weights differ from the uninterrupted run");
        Assert.True(committed is not null && expected.SequenceEqual(committed), "the committed final weights differ");
        Assert.Equal(File.ReadAllBytes(Path.Combine(referenceDir, final, "model.pt")), File.ReadAllBytes(Path.Combine(sync2.Directory, final, "model.pt")));
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(scratch, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
