using System.Security.Cryptography;
using K8sTraining.CheckpointSync.Tests.Support;
using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;

namespace K8sTraining.CheckpointSync.Tests.Integration;

/// <summary>
/// The published checkpoint-sync program as the kubelet runs a native sidecar: a real process beside a checkpoint
/// directory, s3rver on loopback as the store, SIGTERM to stop it, its termination message and /metrics read back.
/// </summary>
[Trait("Category", "Integration")]
public sealed class CheckpointSyncTests(S3rverFixture fixture) : IClassFixture<S3rverFixture>, IDisposable
{
    private const string Labels = "job_name=\"sync-test\"";
    private readonly string scratch = StepDirectory.Scratch();

    private static string Prefix() => "sync-" + Guid.NewGuid().ToString("N")[..10];

    [Fact]
    public async Task Restore_Should_PutTheNewestCommittedCheckpointInPlaceBeforeTheReadyFile_When_TheDirectoryIsEmpty()
    {
        var prefix = Prefix();
        using var remote = new RemotePrefix(fixture.Server, prefix);
        string written;
        await using (var first = SyncProcess.Start(fixture.Server, prefix, scratch))
        {
            await first.WaitReadyAsync();
            StepDirectory.Write(first.Directory, 10, 0, 10);
            await remote.WaitCommittedAsync(10);
            written = StepDirectory.Write(first.Directory, 20, 1, 4);
            await remote.WaitCommittedAsync(20);
            Assert.Equal(0, await first.StopAsync());
        }

        await using var second = SyncProcess.Start(fixture.Server, prefix, scratch);
        await second.WaitReadyAsync();

        // The ready file is written after the restore: whoever waits for it finds the checkpoint complete.
        var restored = Path.Combine(second.Directory, CheckpointLayout.DirectoryName(20));
        foreach (var file in new[] { "model.pt", "optimizer.pt", CheckpointLayout.StateFileName })
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(written, file)), File.ReadAllBytes(Path.Combine(restored, file)));
        }
        Assert.False(Directory.Exists(Path.Combine(second.Directory, CheckpointLayout.DirectoryName(10))), "only the newest is restored");
        var metrics = await second.ScrapeAsync();
        Assert.Equal(20, MetricsText.Value(metrics, TrainerMetricNames.ResumedFromGlobalStep, Labels));
        Assert.Equal(1, MetricsText.Value(metrics, TrainerMetricNames.ResumedFromEpoch, Labels));
        Assert.Equal(4, MetricsText.Value(metrics, TrainerMetricNames.ResumedFromStepInEpoch, Labels));
        Assert.Equal(20, MetricsText.Value(metrics, TrainerMetricNames.CheckpointGlobalStep, Labels));

        Assert.Equal(0, await second.StopAsync());
        var message = second.ReadTerminationMessage();
        Assert.Equal((20L, 1, 4L), (message.ResumedFrom!.GlobalStep, message.ResumedFrom.Epoch, message.ResumedFrom.StepInEpoch));
        Assert.Equal($"s3://{S3rverServer.Bucket}/{prefix}/{CheckpointLayout.DirectoryName(20)}", message.Checkpoint);
        Assert.True(message.CheckpointUploaded);
    }

    [Fact]
    public async Task Upload_Should_CommitOnlyDirectoriesRenamedIntoPlace_When_ATrainerIsStillWritingATemporary()
    {
        var prefix = Prefix();
        using var remote = new RemotePrefix(fixture.Server, prefix);
        await using var sync = SyncProcess.Start(fixture.Server, prefix, scratch);
        await sync.WaitReadyAsync();

        var temporary = StepDirectory.WriteTemporary(sync.Directory, 7, 0, 7);
        Directory.CreateDirectory(Path.Combine(sync.Directory, "step-000000000009.partial"));
        File.WriteAllBytes(Path.Combine(sync.Directory, "step-000000000009.partial", "model.pt"), [1, 2, 3]);
        StepDirectory.Write(sync.Directory, 5, 0, 5);
        await remote.WaitCommittedAsync(5);
        Assert.Null(await remote.GetAsync($"{CheckpointLayout.DirectoryName(7)}/model.pt"));
        Assert.Null(await remote.GetAsync("step-000000000009.partial/model.pt"));

        var final = Path.Combine(sync.Directory, CheckpointLayout.DirectoryName(7));
        Directory.Move(temporary, final);
        var latest = await remote.WaitCommittedAsync(7);

        // The manifest the sidecar wrote for a trainer that writes none: every file's size and sha256, the position
        // from state.json, and what the trainer wrote, byte for byte.
        var manifest = CheckpointManifest.ParseVerified((await remote.GetAsync($"{CheckpointLayout.DirectoryName(7)}/{CheckpointLayout.ManifestFileName}"))!);
        Assert.Equal((7L, 0, 7), (manifest.GlobalStep, manifest.Epoch, manifest.StepInEpoch));
        Assert.Equal(["model.pt", "optimizer.pt", CheckpointLayout.StateFileName], manifest.Files.Select(f => f.Name).Order(StringComparer.Ordinal));
        foreach (var file in manifest.Files)
        {
            var local = File.ReadAllBytes(Path.Combine(final, file.Name));
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(local)), file.Sha256);
            Assert.Equal(local, await remote.GetAsync($"{CheckpointLayout.DirectoryName(7)}/{file.Name}"));
        }
        // The commit protocol, as s3rver stored it: every file, then the manifest, then latest.json.
        var stored = Path.Combine(fixture.Server.DataDirectory, S3rverServer.Bucket, prefix);
        DateTime StoredAt(string key) => File.GetLastWriteTimeUtc(Path.Combine(stored, key + "._S3rver_metadata.json"));
        var manifestAt = StoredAt($"{CheckpointLayout.DirectoryName(7)}/{CheckpointLayout.ManifestFileName}");
        Assert.All(manifest.Files, f => Assert.True(StoredAt($"{CheckpointLayout.DirectoryName(7)}/{f.Name}") <= manifestAt, $"{f.Name} stored after the manifest"));
        Assert.True(manifestAt <= StoredAt(CheckpointLayout.LatestFileName), "latest.json stored before the manifest");
        Assert.Equal(1, latest!.Attempt);
        Assert.Equal("uid-" + prefix, latest.JobUid);
        Assert.NotNull(await remote.GetAsync(CheckpointLayout.OwnerFileName));
        Assert.NotNull(await remote.GetAsync($"{CheckpointLayout.FenceFolderName}/{CheckpointLayout.FenceFileName(1)}"));
        Assert.Equal(0, await sync.StopAsync());
    }

    [Fact]
    public async Task Upload_Should_KeepOnlyTheNewestK_When_MoreCheckpointsAreCommitted()
    {
        var prefix = Prefix();
        using var remote = new RemotePrefix(fixture.Server, prefix);
        await using var sync = SyncProcess.Start(fixture.Server, prefix, scratch, env => env[TrainerEnvironment.KeepCheckpoints] = "2");
        await sync.WaitReadyAsync();

        foreach (var step in new long[] { 1, 2, 3 })
        {
            StepDirectory.Write(sync.Directory, step, 0, (int)step);
            await remote.WaitCommittedAsync(step);
        }

        var latest = await remote.LatestAsync();
        Assert.Equal([CheckpointLayout.DirectoryName(3), CheckpointLayout.DirectoryName(2)], latest!.Retained);
        await Eventually.TrueAsync(async () => await remote.GetAsync($"{CheckpointLayout.DirectoryName(1)}/{CheckpointLayout.ManifestFileName}") is null, "step 1's manifest deleted");
        Assert.NotNull(await remote.GetAsync($"{CheckpointLayout.DirectoryName(2)}/{CheckpointLayout.ManifestFileName}"));
        Assert.Equal(0, await sync.StopAsync());
    }

    [Fact]
    public async Task Flush_Should_CommitTheLastCheckpointAndReportItInTheTerminationMessage_When_SigtermFollowsTheTrainersLastWrite()
    {
        var prefix = Prefix();
        using var remote = new RemotePrefix(fixture.Server, prefix);
        await using var sync = SyncProcess.Start(fixture.Server, prefix, scratch);
        await sync.WaitReadyAsync();

        StepDirectory.Write(sync.Directory, 30, 2, 6, size: 6 << 20);
        var code = await sync.StopAsync();

        Assert.True(code == TrainerExitCodes.Completed, $"exit {code}\n{sync.Process.Output}");
        var message = sync.ReadTerminationMessage();
        Assert.Null(message.Status);
        Assert.Equal($"s3://{S3rverServer.Bucket}/{prefix}/{CheckpointLayout.DirectoryName(30)}", message.Checkpoint);
        Assert.True(message.CheckpointUploaded);
        Assert.Equal((30L, 2, 6L), (message.GlobalStep, message.Epoch, message.StepInEpoch));
        Assert.Null(message.ResumedFrom);
        Assert.Equal(CheckpointLayout.DirectoryName(30), (await remote.LatestAsync())?.Checkpoint);
    }

    [Fact]
    public async Task Upload_Should_RetryUntilCommitted_When_TheStoreComesBack()
    {
        await using var server = await S3rverServer.StartAsync();
        var prefix = Prefix();
        using var remote = new RemotePrefix(server, prefix);
        await using var sync = SyncProcess.Start(server, prefix, scratch);
        await sync.WaitReadyAsync();

        await server.StopAsync();
        StepDirectory.Write(sync.Directory, 12, 0, 12);
        await Eventually.TrueAsync(() => sync.Process.Output.Contains("Upload of step-000000000012", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "a failed upload");
        await server.StartAgainAsync();

        await remote.WaitCommittedAsync(12);
        Assert.Equal(0, await sync.StopAsync());
        Assert.True(sync.ReadTerminationMessage().CheckpointUploaded);
    }

    [Fact]
    public async Task Flush_Should_Exit69AndReportTheCheckpointNotUploaded_When_TheStoreStaysUnreachable()
    {
        await using var server = await S3rverServer.StartAsync();
        var prefix = Prefix();
        using var remote = new RemotePrefix(server, prefix);
        await using var sync = SyncProcess.Start(server, prefix, scratch, env => env[TrainerEnvironment.ShutdownTimeoutSeconds] = "2");
        await sync.WaitReadyAsync();
        StepDirectory.Write(sync.Directory, 10, 0, 10);
        await remote.WaitCommittedAsync(10);

        await server.StopAsync();
        StepDirectory.Write(sync.Directory, 20, 0, 20);
        var code = await sync.StopAsync();

        Assert.True(code == TrainerExitCodes.StorageUnavailable, $"exit {code}\n{sync.Process.Output}");
        var message = sync.ReadTerminationMessage();
        Assert.False(message.CheckpointUploaded);
        Assert.Equal(TerminationReasons.StorageUnavailable, message.Reason);
        Assert.Equal($"s3://{S3rverServer.Bucket}/{prefix}/{CheckpointLayout.DirectoryName(10)}", message.Checkpoint);
        Assert.Equal(10, message.GlobalStep);
        Assert.Contains(CheckpointLayout.DirectoryName(20), message.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_Should_Exit69WithoutTheReadyFile_When_TheStoreIsUnreachable()
    {
        await using var server = await S3rverServer.StartAsync();
        await server.StopAsync();
        await using var sync = SyncProcess.Start(server, Prefix(), scratch);

        var code = await sync.Process.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.True(code == TrainerExitCodes.StorageUnavailable, $"exit {code}\n{sync.Process.Output}");
        Assert.False(File.Exists(sync.ReadyFile), "the trainer must not start on an empty directory the store may hold checkpoints for");
        Assert.Equal(TerminationReasons.StorageUnavailable, sync.ReadTerminationMessage().Reason);
    }

    [Fact]
    public async Task Start_Should_Exit2NamingTheVariable_When_TheCheckpointUriIsMissing()
    {
        await using var sync = SyncProcess.Start(fixture.Server, Prefix(), scratch, env => env.Remove(TrainerEnvironment.CheckpointUri));

        var code = await sync.Process.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.True(code == TrainerExitCodes.InvalidConfiguration, $"exit {code}\n{sync.Process.Output}");
        Assert.Contains(TrainerEnvironment.CheckpointUri, sync.Process.Stderr, StringComparison.Ordinal);
        var message = sync.ReadTerminationMessage();
        Assert.Equal(TerminationReasons.InvalidConfiguration, message.Reason);
        Assert.Contains(TrainerEnvironment.CheckpointUri, message.Message, StringComparison.Ordinal);
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
