using System.Security.Cryptography;
using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;
using K8sTraining.Training.Storage;
using K8sTraining.Trainer.Tests.Integration;
using K8sTraining.Trainer.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace K8sTraining.Trainer.Tests.Storage;

/// <summary>
/// Fencing with real trainers against a real s3rver (which ignores conditional writes, like many S3-compatible stores):
/// a zombie attempt, frozen by a "partition" while its replacement takes over, can never overwrite or confuse the newer
/// attempt's checkpoints; it exits 76 and the job still ends byte-identical.
/// </summary>
[Collection(TrainerProcessCollection.Name)]
[Trait("Category", "Integration")]
public sealed class S3FencingTests(ReferenceRunFixture reference, S3rverFixture s3) : IClassFixture<ReferenceRunFixture>, IClassFixture<S3rverFixture>
{
    private const string JobUid = "uid-fencing-job";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);

    private Dictionary<string, string> Environment(int attempt, int stepDelayMs = 10)
    {
        var env = s3.Server.Environment().Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value!);
        env[TrainerEnvironment.Attempt] = $"{attempt}";
        env[TrainerEnvironment.JobUid] = JobUid;
        env[TrainerEnvironment.JobNamespace] = "ml";
        env[TrainerEnvironment.JobName] = "fenced";
        env["K8STRAINING_TEST_STEP_DELAY_MS"] = $"{stepDelayMs}";
        return env;
    }

    [Fact]
    public async Task Train_Should_RefuseTheZombiesCommitsAndEndByteIdentical_When_ANewerAttemptTakesOverWhileTheOldOneRuns()
    {
        var uri = $"s3://{S3rverServer.Bucket}/fenced/{Guid.NewGuid():N}";
        using var objects = Objects(uri);
        using var zombieRun = new TrainerRun();
        using var replacementRun = new TrainerRun();

        using var zombie = TrainerProcess.Start(zombieRun.Args("--checkpoint-uri", uri), Environment(1));
        await Eventually.TrueAsync(async () => await LatestAsync(objects, uri) is { GlobalStep: >= 2 * TrainerRun.CheckpointEvery }, "attempt 1 committed twice", Deadline);
        // The partition: attempt 1 stops being seen (frozen wherever it was, mid-upload included) but is not dead.
        zombie.SendSigstop();
        LatestPointer? before = null;
        await Eventually.TrueAsync(async () => (before = await LatestAsync(objects, uri)) is not null, "latest.json readable", Deadline);
        Assert.Equal(1, before!.Attempt);

        using var replacement = TrainerProcess.Start(replacementRun.Args("--checkpoint-uri", uri), Environment(2));
        await Eventually.TrueAsync(async () => await LatestAsync(objects, uri) is { Attempt: 2 }, "attempt 2 committed", Deadline);
        // Attempt 1's newest commit: the one seen after the freeze, or the next when the freeze caught its commit in
        // flight and the store finished it a moment later.
        var resumed = TrainerRun.ResumedGlobalStep(replacement.Stdout) ?? -1;
        Assert.True(resumed == before.GlobalStep || resumed == before.GlobalStep + TrainerRun.CheckpointEvery, $"attempt 2 resumed at {resumed}, attempt 1 had committed {before.GlobalStep}\n{replacement.Stdout}");

        // The zombie comes back and carries on where it was: its next upload or commit must be refused.
        zombie.SendSigcont();
        var zombieCode = await zombie.WaitForExitAsync(Deadline);
        Assert.True(zombieCode == TrainerExitCodes.Superseded, $"zombie exit {zombieCode}\n{zombie.Stdout}\n{zombie.Stderr}");
        var zombieReport = zombieRun.ReadTerminationReport();
        Assert.Equal((TerminationStatuses.Superseded, TerminationReasons.Superseded), (zombieReport.Status, zombieReport.Reason));
        Assert.Contains("Attempt 1 is superseded by attempt 2", zombieReport.Message, StringComparison.Ordinal);
        Assert.Contains(uri, zombieReport.Message, StringComparison.Ordinal);
        Assert.True(zombieReport.GlobalStep >= before.GlobalStep, $"position {zombieReport.GlobalStep}, committed {before.GlobalStep}");
        // Its newest remote commit: the one attempt 2 resumed from, or, when the partition caught its commit of the next
        // one in flight (s3rver ignores If-Match: the documented window of one request), that one.
        Assert.True(zombieReport.CheckpointUploaded, zombieReport.ToString());
        Assert.True(CheckpointLayout.TryParseLocation(zombieReport.Checkpoint, out var zombieCommitted) && zombieCommitted >= before.GlobalStep && zombieReport.Checkpoint!.StartsWith(uri, StringComparison.Ordinal), zombieReport.ToString());
        Assert.Single(zombie.Stdout.Split('\n'), l => l.Contains("Superseded:", StringComparison.Ordinal));
        Assert.False(File.Exists(zombieRun.Output), "the zombie finished nothing");
        await AssertConsistentAsync(objects, uri, expectedAttempt: null);

        var code = await replacement.WaitForExitAsync(Deadline);
        Assert.True(code == TrainerExitCodes.Completed, $"exit {code}\n{replacement.Stdout}\n{replacement.Stderr}");
        var report = replacementRun.ReadTerminationReport();
        Assert.Equal(new ResumePoint(resumed, report.ResumedFrom!.Epoch, report.ResumedFrom.StepInEpoch, $"{uri}/{CheckpointLayout.DirectoryName(resumed)}"), report.ResumedFrom);
        Assert.Equal(($"{uri}/step-{TrainerRun.TotalSteps:D12}", true), (report.Checkpoint, report.CheckpointUploaded));
        await AssertConsistentAsync(objects, uri, expectedAttempt: 2);
        var location = S3CheckpointLocation.Parse(uri);
        Assert.Equal("2", await AttemptMetadataAsync(location.Key($"step-{TrainerRun.TotalSteps:D12}/{CheckpointLayout.ManifestFileName}")));
        Assert.Equal("2", await AttemptMetadataAsync(location.Key(CheckpointLayout.LatestFileName)));
        Assert.Equal("2", await AttemptMetadataAsync(location.Key($"{CheckpointLayout.FenceFolderName}/{CheckpointLayout.FenceFileName(2)}")));
        var weights = await File.ReadAllBytesAsync(replacementRun.Output);
        Assert.True(reference.FinalWeights.SequenceEqual(weights), "final weights differ from the uninterrupted run");
    }

    [Theory]
    [InlineData("a newer attempt committed latest.json")]
    [InlineData("a newer attempt only wrote its fence")]
    public async Task Train_Should_ExitSupersededAtOnceWritingNothing_When_StartedWithAnOlderAttemptThanTheStore(string newer)
    {
        var uri = $"s3://{S3rverServer.Bucket}/stale/{Guid.NewGuid():N}";
        using var objects = Objects(uri);
        var prefix = S3CheckpointLocation.Parse(uri).Key("");
        var env3 = Environment(3);
        await using (var store = RemoteCheckpointStoreFactory.Create(uri, 3, n => env3.GetValueOrDefault(n), NullLoggerFactory.Instance, new CheckpointOwnerClaim(JobUid, "ml", "fenced", Adopt: false)))
        {
            await store.ValidateAsync(CancellationToken.None);
            if (newer.Contains("committed", StringComparison.Ordinal))
            {
                store.Enqueue(LocalCheckpoints.Write(LocalCheckpoints.TempDirectory(), 50, LocalCheckpoints.SmallCheckpoint(50)));
                Assert.True((await store.FlushAsync(TimeSpan.FromSeconds(30), CancellationToken.None)).AllCommitted);
                // Only latest.json says attempt 3 was here.
                await objects.DeleteAsync($"{prefix}{CheckpointLayout.FenceFolderName}/{CheckpointLayout.FenceFileName(3)}", CancellationToken.None);
            }
        }
        var keysBefore = await SnapshotAsync(objects, prefix);

        using var run = new TrainerRun();
        var (code, process) = await TrainerProcess.RunAsync(run.Args("--checkpoint-uri", uri), Environment(2));
        using (process)
        {
            Assert.True(code == TrainerExitCodes.Superseded, $"exit {code}\n{process.Stdout}\n{process.Stderr}");
            Assert.Null(TrainerRun.ResumedGlobalStep(process.Stdout));
            Assert.DoesNotContain("Starting mlp", process.Stdout, StringComparison.Ordinal);
        }
        var report = run.ReadTerminationReport();
        Assert.Equal((TerminationStatuses.Superseded, TerminationReasons.Superseded, 0L), (report.Status, report.Reason, report.GlobalStep));
        Assert.Equal((null, false), (report.Checkpoint, report.CheckpointUploaded));
        Assert.Contains("Attempt 2 is superseded by attempt 3", report.Message, StringComparison.Ordinal);
        Assert.Contains(uri, report.Message, StringComparison.Ordinal);
        Assert.Equal(keysBefore, await SnapshotAsync(objects, prefix));
        Assert.Empty(run.CommittedSteps());
    }

    /// <summary>
    /// latest.json names <paramref name="expectedAttempt"/> (any attempt when null: right after the zombie exits, its
    /// one in-flight write may be the newest), and every checkpoint it lists verifies against its manifest.
    /// A running trainer's retention may delete what an older latest.json listed, so a check that saw latest.json change
    /// meanwhile is done again.
    /// </summary>
    private static async Task AssertConsistentAsync(S3ObjectClient objects, string uri, int? expectedAttempt)
    {
        var location = S3CheckpointLocation.Parse(uri);
        for (var round = 0; ; round++)
        {
            var latestBytes = await GetAsync(objects, location.Key(CheckpointLayout.LatestFileName));
            LatestPointer latest;
            try
            {
                latest = RemoteCheckpointDocuments.ParseLatest(latestBytes ?? throw new InvalidDataException("no latest.json"));
            }
            catch (Exception e) when (round < 20 && e is InvalidDataException or System.Text.Json.JsonException)
            {
                // s3rver overwrites in place: a read during a trainer's commit can see a torn latest.json.
                continue;
            }
            var problems = new List<string>();
            foreach (var name in latest.Retained)
            {
                var manifestBytes = await GetAsync(objects, location.Key($"{name}/{CheckpointLayout.ManifestFileName}"));
                if (manifestBytes is null)
                {
                    problems.Add($"{name} has no manifest");
                    continue;
                }
                var manifest = CheckpointManifest.ParseVerified(manifestBytes);
                if (CheckpointLayout.DirectoryName(manifest.GlobalStep) != name)
                {
                    problems.Add($"{name}'s manifest says step {manifest.GlobalStep}");
                }
                foreach (var file in manifest.Files)
                {
                    var bytes = await GetAsync(objects, location.Key($"{name}/{file.Name}"));
                    if (bytes is null || bytes.LongLength != file.Size || Convert.ToHexStringLower(SHA256.HashData(bytes)) != file.Sha256)
                    {
                        problems.Add($"{name}/{file.Name} does not verify");
                    }
                }
            }
            var again = await GetAsync(objects, location.Key(CheckpointLayout.LatestFileName));
            if (round < 20 && (again is null || !again.AsSpan().SequenceEqual(latestBytes)))
            {
                continue;
            }
            Assert.Empty(problems);
            Assert.Equal((expectedAttempt ?? latest.Attempt, JobUid), (latest.Attempt, latest.JobUid));
            Assert.Equal(latest.Checkpoint, latest.Retained[0]);
            return;
        }
    }

    /// <summary>An object's bytes (null when absent); s3rver answers 500 or cuts the body when a read meets an overwrite, so it asks again.</summary>
    private static async Task<byte[]?> GetAsync(S3ObjectClient objects, string key)
    {
        for (var i = 0; ; i++)
        {
            try
            {
                return (await objects.GetWithETagAsync(key, CancellationToken.None)).Bytes;
            }
            catch (HttpRequestException) when (i < 50)
            {
                await Task.Yield();
            }
        }
    }

    private static async Task<LatestPointer?> LatestAsync(S3ObjectClient objects, string uri)
    {
        var bytes = await GetAsync(objects, S3CheckpointLocation.Parse(uri).Key(CheckpointLayout.LatestFileName));
        try
        {
            return bytes is null ? null : RemoteCheckpointDocuments.ParseLatest(bytes);
        }
        catch (Exception e) when (e is InvalidDataException or System.Text.Json.JsonException)
        {
            return null; // torn: s3rver overwrites in place
        }
    }

    /// <summary>Every key under the prefix with the SHA-256 of its bytes.</summary>
    private static async Task<List<string>> SnapshotAsync(S3ObjectClient objects, string prefix)
    {
        var snapshot = new List<string>();
        foreach (var key in (await objects.ListKeysAsync(prefix, CancellationToken.None)).Order(StringComparer.Ordinal))
        {
            snapshot.Add($"{key} {Convert.ToHexStringLower(SHA256.HashData(await GetAsync(objects, key) ?? []))}");
        }
        return snapshot;
    }

    /// <summary>The attempt an object was uploaded by, from its user metadata (a presigned HEAD).</summary>
    private async Task<string?> AttemptMetadataAsync(string key)
    {
        var presigner = new SigV4Presigner(S3rverServer.AccessKey, S3rverServer.SecretKey, "us-east-1", null);
        var url = presigner.Presign("HEAD", "http", $"127.0.0.1:{s3.Server.Port}", $"/{S3rverServer.Bucket}/{key}", new Dictionary<string, string>(), DateTime.UtcNow, TimeSpan.FromMinutes(5));
        using var http = new HttpClient();
        using var response = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, url));
        Assert.True(response.IsSuccessStatusCode, $"HEAD {key}: {(int)response.StatusCode}");
        return response.Headers.TryGetValues(S3ObjectClient.AttemptMetadataKey, out var values) ? values.Single() : null;
    }

    private S3ObjectClient Objects(string uri)
    {
        var env = s3.Server.Environment();
        return new S3ObjectClient(S3StoreOptions.FromEnvironment(uri, 3, n => env.GetValueOrDefault(n)));
    }
}
