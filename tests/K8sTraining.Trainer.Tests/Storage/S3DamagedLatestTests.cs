using K8sTraining.Contract;
using K8sTraining.Trainer.Tests.Integration;
using K8sTraining.Trainer.Tests.Support;

namespace K8sTraining.Trainer.Tests.Storage;

/// <summary>
/// Found by `make chaos` (input fuzz, seed 19): a latest.json in S3 that does not parse made the trainer exit 1 with a
/// stack trace. It is input a person must repair, so: exit 2 (InvalidConfiguration) with the message that says what to
/// do, no stack trace, and nothing written over the remote checkpoints.
/// </summary>
[Collection(TrainerProcessCollection.Name)]
[Trait("Category", "Integration")]
public sealed class S3DamagedLatestTests(S3rverFixture s3) : IClassFixture<S3rverFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);

    [Theory]
    [InlineData("empty", "")]
    [InlineData("cut in half", "{\"checkpoint\":\"step-0000")]
    [InlineData("not json", "<Error>garbage</Error>")]
    public async Task Train_Should_ExitInvalidWithTheRepairMessageAndNoStackTrace_When_LatestJsonInS3IsDamaged(string name, string content)
    {
        _ = name;
        using var run = new TrainerRun();
        var prefix = "damaged-latest/" + Guid.NewGuid().ToString("N")[..10];
        var uri = $"s3://{S3rverServer.Bucket}/{prefix}";
        var env = s3.Server.Environment().Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value!);
        var args = run.Args("--checkpoint-uri", uri, "--epochs", "1");
        var (firstCode, first) = await TrainerProcess.RunAsync(args, env);
        using (first)
        {
            Assert.True(firstCode == TrainerExitCodes.Completed, $"exit {firstCode}\n{first.Stdout}\n{first.Stderr}");
        }
        var latest = Path.Combine(s3.Server.DataDirectory, S3rverServer.Bucket, prefix, CheckpointLayout.LatestFileName + "._S3rver_object");
        Assert.True(File.Exists(latest), $"s3rver keeps latest.json at {latest}");
        await File.WriteAllTextAsync(latest, content);
        Directory.Delete(run.CheckpointDirectory, recursive: true);

        var (code, process) = await TrainerProcess.RunAsync(args, env, timeoutSeconds: (int)Deadline.TotalSeconds);
        using (process)
        {
            var output = process.Stdout + process.Stderr;
            Assert.True(code == TrainerExitCodes.InvalidConfiguration, $"exit {code}\n{output}");
            Assert.DoesNotContain("--- End of inner exception stack trace ---", output, StringComparison.Ordinal);
            Assert.DoesNotContain(" at K8sTraining.", output, StringComparison.Ordinal);
        }
        var report = run.ReadTerminationReport();
        Assert.Equal((TerminationStatuses.Invalid, TerminationReasons.InvalidConfiguration), (report.Status, report.Reason));
        Assert.Contains("Repair or delete latest.json", report.Message, StringComparison.Ordinal);
        Assert.Equal(content, await File.ReadAllTextAsync(latest));
    }
}
