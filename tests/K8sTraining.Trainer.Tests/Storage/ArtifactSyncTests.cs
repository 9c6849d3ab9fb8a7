using System.Globalization;
using System.Text;
using K8sTraining.Contract;
using K8sTraining.Training.Storage;
using Microsoft.Extensions.Logging;

namespace K8sTraining.Trainer.Tests.Storage;

/// <summary>The plots and logs beside the checkpoints, against a real s3rver: uploaded, restored into an empty directory, fenced.</summary>
[Trait("Category", "Integration")]
public sealed class ArtifactSyncTests(S3rverFixture fixture) : IClassFixture<S3rverFixture>, IDisposable
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(30);
    private readonly List<string> _temporary = [];

    public void Dispose()
    {
        foreach (var directory in _temporary.Where(Directory.Exists))
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private string Temp()
    {
        var directory = LocalCheckpoints.TempDirectory();
        _temporary.Add(directory);
        return directory;
    }

    private static string Uri() => $"s3://{S3rverServer.Bucket}/jobs/{Guid.NewGuid():N}"[..48];

    private (ArtifactSync Sync, ListLoggerProvider Logs) Sync(string uri, string root, Dictionary<string, string?>? environment = null)
    {
        var env = environment ?? fixture.Server.Environment();
        var options = S3StoreOptions.FromEnvironment(uri, 3, n => env.GetValueOrDefault(n));
        var logs = new ListLoggerProvider();
        var logger = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug)).CreateLogger<ArtifactSync>();
        return (new ArtifactSync(options, new S3ObjectClient(options), root, logger), logs);
    }

    private S3ObjectClient Objects(string uri)
    {
        var env = fixture.Server.Environment();
        return new S3ObjectClient(S3StoreOptions.FromEnvironment(uri, 3, n => env.GetValueOrDefault(n)));
    }

    /// <summary>A checkpoint directory as a trainer leaves it after an epoch: logs, plots, a plot half-written, a checkpoint.</summary>
    private static Dictionary<string, byte[]> WriteArtifacts(string root, int epoch)
    {
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal)
        {
            [ArtifactLayout.TextLogFileName] = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, epoch + 1).Select(e => $"epoch {e + 1}/5  step {10 * (e + 1)}\n"))),
            [ArtifactLayout.CsvLogFileName] = Encoding.UTF8.GetBytes("timestamp,kind\n" + string.Concat(Enumerable.Range(0, epoch + 1).Select(e => $"t{e},epoch\n"))),
            [$"{ArtifactLayout.PlotsFolderName}/metrics-by-epoch.png"] = LocalCheckpoints.RandomBytes(40_000, epoch),
            [$"{ArtifactLayout.PlotsFolderName}/schedule.png"] = LocalCheckpoints.RandomBytes(30_000, 100 + epoch),
        };
        foreach (var (relative, bytes) in files)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(root, relative))!);
            File.WriteAllBytes(Path.Combine(root, relative), bytes);
        }
        File.WriteAllBytes(Path.Combine(root, ArtifactLayout.PlotsFolderName, ".schedule.png.tmp-1"), [1, 2, 3]);
        LocalCheckpoints.Write(root, 10L * (epoch + 1), LocalCheckpoints.SmallCheckpoint(epoch));
        return files;
    }

    private static async Task<IReadOnlyList<string>> ArtifactKeysAsync(S3ObjectClient objects, string uri)
    {
        var folder = objects.Location.Key(ArtifactLayout.RemoteFolderName + "/");
        return (await objects.ListKeysAsync(folder, CancellationToken.None)).Select(k => k[folder.Length..]).Order(StringComparer.Ordinal).ToList();
    }

    [Fact]
    public async Task Enqueue_Should_UploadPlotsAndLogsThatAReplacementRestoresIntoAnEmptyDirectory_When_AnEpochEnds()
    {
        var uri = Uri();
        var first = Temp();
        IReadOnlyDictionary<string, byte[]> files;
        var (sync, logs) = Sync(uri, first);
        await using (sync)
        {
            Assert.Empty(await sync.RestoreMissingAsync(CancellationToken.None));
            WriteArtifacts(first, 0);
            sync.Enqueue();
            files = WriteArtifacts(first, 1);
            sync.Enqueue();
            Assert.True(await sync.FlushAsync(Budget, CancellationToken.None), logs.AllText);
        }

        using var objects = Objects(uri);
        Assert.Equal(files.Keys.Order(StringComparer.Ordinal), await ArtifactKeysAsync(objects, uri));

        // The replacement pod: an empty directory gets every artifact back, byte for byte (the last epoch's).
        var replacement = Temp();
        var (restorer, restoreLogs) = Sync(uri, replacement);
        await using (restorer)
        {
            var restored = await restorer.RestoreMissingAsync(CancellationToken.None);

            Assert.Equal(files.Keys.Order(StringComparer.Ordinal), restored);
            Assert.All(files, f => Assert.Equal(f.Value, File.ReadAllBytes(Path.Combine(replacement, f.Key))));
            Assert.Contains("Restored 4 artifact(s)", restoreLogs.AllText, StringComparison.Ordinal);
        }
        Assert.False(Directory.Exists(Path.Combine(first, ".artifact-staging")) && Directory.EnumerateFileSystemEntries(Path.Combine(first, ".artifact-staging")).Any(), "staging copies are removed");
    }

    [Fact]
    public async Task RestoreMissingAsync_Should_KeepTheLocalCopy_When_TheDirectoryStillHasIt()
    {
        var uri = Uri();
        var root = Temp();
        var (sync, _) = Sync(uri, root);
        await using (sync)
        {
            await sync.RestoreMissingAsync(CancellationToken.None);
            WriteArtifacts(root, 0);
            sync.Enqueue();
            Assert.True(await sync.FlushAsync(Budget, CancellationToken.None));
        }
        // The same node again (a kept volume): its log went further than the last upload.
        File.AppendAllText(Path.Combine(root, ArtifactLayout.TextLogFileName), "epoch 2/5  step 20\n");
        File.Delete(Path.Combine(root, ArtifactLayout.PlotsFolderName, "schedule.png"));

        var (again, _) = Sync(uri, root);
        await using (again)
        {
            var restored = await again.RestoreMissingAsync(CancellationToken.None);

            Assert.Equal([$"{ArtifactLayout.PlotsFolderName}/schedule.png"], restored);
            Assert.EndsWith("epoch 2/5  step 20\n", File.ReadAllText(Path.Combine(root, ArtifactLayout.TextLogFileName)), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Enqueue_Should_UploadNothing_When_ANewerAttemptOfTheJobHasFencedThePrefix()
    {
        var uri = Uri();
        var root = Temp();
        using var objects = Objects(uri);
        var fence = new AttemptFence(2, null, "trainer-attempt-2", DateTimeOffset.UtcNow);
        await objects.PutBytesAsync(objects.Location.Key($"{CheckpointLayout.FenceFolderName}/{CheckpointLayout.FenceFileName(2)}"), RemoteCheckpointDocuments.SerializeFence(fence), CancellationToken.None);
        var env = fixture.Server.Environment();
        env[TrainerEnvironment.Attempt] = "1";
        var (sync, logs) = Sync(uri, root, env);
        await using (sync)
        {
            await sync.RestoreMissingAsync(CancellationToken.None);
            WriteArtifacts(root, 0);
            sync.Enqueue();

            Assert.False(await sync.FlushAsync(Budget, CancellationToken.None));
            Assert.Contains("superseded by attempt 2", logs.AllText, StringComparison.Ordinal);
        }

        Assert.Empty(await ArtifactKeysAsync(objects, uri));
    }

    [Fact]
    public async Task RestoreMissingAsync_Should_TrainOnWithoutUploading_When_TheStoreCannotBeReached()
    {
        var root = Temp();
        var env = fixture.Server.Environment();
        env["AWS_ENDPOINT_URL"] = $"http://127.0.0.1:{S3rverServer.FreePort().ToString(CultureInfo.InvariantCulture)}";
        env["CHECKPOINT_S3_STARTUP_TIMEOUT_SECONDS"] = "1";
        var (sync, logs) = Sync(Uri(), root, env);
        await using (sync)
        {
            Assert.Empty(await sync.RestoreMissingAsync(CancellationToken.None));
            WriteArtifacts(root, 0);
            sync.Enqueue();

            Assert.Equal(0, sync.Backlog);
            Assert.Contains("Could not restore the plots and logs", logs.AllText, StringComparison.Ordinal);
        }
    }
}

/// <summary>Which remote keys a restore may write into the checkpoint directory.</summary>
[Trait("Category", "Unit")]
public sealed class ArtifactNamesTests
{
    [Theory]
    [InlineData("the text log", "training-log.txt", true)]
    [InlineData("a plot", "plots/schedule.png", true)]
    [InlineData("the LR finder's curve", "lr-finder/lr-finder.csv", true)]
    [InlineData("a checkpoint file", "step-000000000010/model.bin", false)]
    [InlineData("a folder deeper down", "plots/x/y.png", false)]
    [InlineData("a climb out of the directory", "plots/../../etc/passwd", false)]
    [InlineData("a temporary", "plots/.schedule.png.tmp-1", false)]
    [InlineData("something else", "notes.md", false)]
    public void IsArtifact_Should_AcceptOnlyWhatTheTrainerWrites_When_ARemoteKeyIsRestored(string name, string relative, bool expected)
    {
        Assert.Equal(expected, ArtifactSync.IsArtifact(relative));
        Assert.NotEmpty(name);
    }
}
