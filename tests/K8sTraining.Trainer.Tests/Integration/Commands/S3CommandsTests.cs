using System.Text.Json;
using K8sTraining.Contract;
using K8sTraining.Training.Commands;
using K8sTraining.Trainer.Tests.Support;

namespace K8sTraining.Trainer.Tests.Integration.Commands;

/// <summary>
/// evaluate, predict and export reading the checkpoint from a real s3rver (--checkpoint-uri, no local checkpoint
/// directory): a real run uploads its checkpoints, then each command restores the one it names.
/// </summary>
[Collection(TrainerProcessCollection.Name)]
[Trait("Category", "Integration")]
public sealed class S3CommandsTests(TrainedRunFixture run, S3rverFixture s3) : IClassFixture<TrainedRunFixture>, IClassFixture<S3rverFixture>
{
    private Dictionary<string, string> Environment() =>
        s3.Server.Environment().Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value!);

    private async Task<string> TrainIntoS3Async(string scratch)
    {
        var uri = $"s3://{S3rverServer.Bucket}/commands-{Guid.NewGuid():N}";
        var (code, p) = await TrainedRunFixture.RunAsync([
            "train", .. run.DataFlags, "--epochs", "1", "--batch-size", "16", "--checkpoint-dir", Path.Combine(scratch, "local"),
            "--checkpoint-every-steps", "5", "--checkpoint-uri", uri, "--progress", "log", "--termination-log", Path.Combine(scratch, "termination-log")], Environment());
        using (p)
        {
            Assert.True(code == TrainerExitCodes.Completed, $"training exited {code}\n{p.Stdout}\n{p.Stderr}");
        }
        // Nothing local survives: the commands must read S3.
        Directory.Delete(Path.Combine(scratch, "local"), recursive: true);
        return uri;
    }

    [Fact]
    public async Task EvaluatePredictExport_Should_ReadTheCheckpointFromS3_When_GivenACheckpointUri()
    {
        var scratch = Path.Combine(run.Root, "s3-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(scratch);
        var uri = await TrainIntoS3Async(scratch);

        var (evaluate, e) = await TrainedRunFixture.RunAsync(["evaluate", .. run.DataFlags, "--checkpoint", "latest", "--checkpoint-uri", uri, "--output-dir", scratch], Environment());
        using (e)
        {
            Assert.True(evaluate == TrainerExitCodes.Completed, $"evaluate exited {evaluate}\n{e.Stdout}\n{e.Stderr}");
            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(scratch, EvaluateCommand.JsonFileName)));
            Assert.Equal(TrainedRunFixture.LatestStep, json.RootElement.GetProperty("globalStep").GetInt64());
            Assert.Equal($"{uri}/{K8sTraining.Contract.CheckpointLayout.DirectoryName(TrainedRunFixture.LatestStep)}", json.RootElement.GetProperty("checkpoint").GetString());
            // The same seed and data as the local run: the same weights, the same accuracy.
            Assert.Equal(run.FinalTestAccuracy, json.RootElement.GetProperty("accuracy").GetDouble());
        }

        var csv = Path.Combine(scratch, "predictions.csv");
        var (predict, pr) = await TrainedRunFixture.RunAsync(["predict", .. run.DataFlags, "--checkpoint", "latest", "--checkpoint-uri", uri, "--input", Path.Combine(run.Data.Root, "test"), "--output", csv], Environment());
        using (pr)
        {
            Assert.True(predict == TrainerExitCodes.Completed, $"predict exited {predict}\n{pr.Stdout}\n{pr.Stderr}");
            Assert.Equal(81, File.ReadAllLines(csv).Length);
        }

        var model = Path.Combine(scratch, "model.bin");
        // The final checkpoint is always committed; an intermediate one may be skipped by the upload queue when a newer one is waiting.
        var (export, ex) = await TrainedRunFixture.RunAsync(["export", "--checkpoint", $"step-{TrainedRunFixture.LatestStep}", "--checkpoint-uri", uri, "--output", model], Environment());
        using (ex)
        {
            Assert.True(export == TrainerExitCodes.Completed, $"export exited {export}\n{ex.Stdout}\n{ex.Stderr}");
            Assert.Equal(File.ReadAllBytes(Path.Combine(run.StepDirectory(TrainedRunFixture.LatestStep), K8sTraining.Training.Checkpoints.CheckpointCodec.ModelFile)), File.ReadAllBytes(model));
        }
    }
}
