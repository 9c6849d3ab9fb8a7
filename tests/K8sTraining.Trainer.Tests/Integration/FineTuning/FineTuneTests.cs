using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;
using K8sTraining.Training.FineTuning;
using K8sTraining.Training.Loop;
using K8sTraining.Trainer.Tests.Support;

namespace K8sTraining.Trainer.Tests.Integration.FineTuning;

/// <summary>
/// --init-from with the real trainer: a 10-class cnn fine-tuned on 5 classes starts at step 0 from the source's weights
/// with a fresh head (reported), from a local directory or an S3 prefix that it never writes to; interrupted at its first
/// step and resumed it ends with the bytes of an uninterrupted fine-tune; what cannot work exits 2 with the fix.
/// </summary>
[Collection(TrainerProcessCollection.Name)]
[Trait("Category", "Integration")]
public sealed class FineTuneTests(FineTuneSourceFixture source) : IClassFixture<FineTuneSourceFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);

    private static readonly string[] Head = ["fc2.weight", "fc2.bias"];

    // 80 training images in batches of 20: 4 steps an epoch, 8 in all.
    private string[] FineTune(params string[] more) =>
        ["--model", "cnn", "--dataset", DatasetNames.ImageFolder, "--data", source.FiveClasses, "--batch-size", "20", "--checkpoint-every-steps", "3", .. more];

    [Fact]
    public async Task Train_Should_StartFromTheSourcesBestWithAFreshHeadAndResumeToIdenticalBytes_When_FineTunedOnFiveClasses()
    {
        using var run = new TrainerRun();
        string[] flags = FineTune("--init-from", source.SourceDirectory);
        // Held before its first step until the signal: the checkpoint it writes is the fine-tune's step 0.
        using (var first = TrainerProcess.Start(run.Args(flags), new Dictionary<string, string> { ["K8STRAINING_TEST_START_DELAY_MS"] = "120000" }))
        {
            await Eventually.TrueAsync(() => first.Stdout.Contains("Initialised from", StringComparison.Ordinal), Deadline, "the fine-tune's init line");
            first.SendSigterm();
            var code = await first.WaitForExitAsync(Deadline);
            Assert.True(code == TrainerExitCodes.Interrupted, $"exit {code}\n{first.Stdout}\n{first.Stderr}");
        }
        var bestStep = source.Report.Best!.GlobalStep;
        var bestDirectory = Path.Combine(source.SourceDirectory, CheckpointLayout.DirectoryName(bestStep));
        var stepZero = Path.Combine(run.CheckpointDirectory, CheckpointLayout.DirectoryName(0));
        var expected = new InitLineageReport(source.SourceDirectory, bestDirectory, bestStep, Head);
        AssertLineage(expected, run.ReadTerminationReport().Lineage);
        AssertLineage(expected, TrainingState.Parse(File.ReadAllBytes(Path.Combine(stepZero, TrainingState.FileName))).InitializedFrom);

        // Step 0 holds the source's weights and buffers, but for the head: 5 classes now, freshly initialised.
        var theirs = SavedWeights.Read(Path.Combine(bestDirectory, CheckpointCodec.ModelFile)).ToDictionary(t => t.Name);
        var ours = SavedWeights.Read(Path.Combine(stepZero, CheckpointCodec.ModelFile));
        Assert.Equal(theirs.Keys, ours.Select(t => t.Name));
        Assert.All(ours.Where(t => !Head.Contains(t.Name)), t => Assert.True(theirs[t.Name].Data.AsSpan().SequenceEqual(t.Data), $"{t.Name} is not the source's"));
        Assert.Equal<long>([5, 128], ours.Single(t => t.Name == "fc2.weight").Shape);
        Assert.Equal<long>([10, 128], theirs["fc2.weight"].Shape);

        var (resumedCode, resumed) = await TrainerProcess.RunAsync(run.Args(flags));
        using (resumed)
        {
            Assert.True(resumedCode == TrainerExitCodes.Completed, $"exit {resumedCode}\n{resumed.Stdout}\n{resumed.Stderr}");
            Assert.Contains("not applied: the run resumes from a checkpoint of its own", resumed.Stdout, StringComparison.Ordinal);
            Assert.Equal(0, TrainerRun.ResumedGlobalStep(resumed.Stdout));
        }
        Assert.Equal(8, run.ReadTerminationReport().GlobalStep);
        AssertLineage(expected, run.ReadTerminationReport().Lineage);

        using var reference = new TrainerRun();
        var (referenceCode, uninterrupted) = await TrainerProcess.RunAsync(reference.Args(flags));
        using (uninterrupted)
        {
            Assert.True(referenceCode == TrainerExitCodes.Completed, $"exit {referenceCode}\n{uninterrupted.Stdout}\n{uninterrupted.Stderr}");
        }
        Assert.True(File.ReadAllBytes(reference.Output).AsSpan().SequenceEqual(File.ReadAllBytes(run.Output)), "the resumed fine-tune's weights differ from the uninterrupted one's");
    }

    [Fact]
    public async Task Train_Should_FetchTheCheckpointWithoutWritingToTheSource_When_InitFromIsAnS3Prefix()
    {
        using var run = new TrainerRun();
        var before = SourceObjects();
        Assert.NotEmpty(before);
        var own = $"s3://{S3rverServer.Bucket}/fine-tune-{Guid.NewGuid():N}"[..48];

        var (code, process) = await TrainerProcess.RunAsync(
            run.Args(FineTune("--init-from", source.SourceUri, "--init-checkpoint", "latest", "--checkpoint-uri", own, "--job-uid", "uid-fine-tune")),
            source.Environment);
        using (process)
        {
            Assert.True(code == TrainerExitCodes.Completed, $"exit {code}\n{process.Stdout}\n{process.Stderr}");
        }

        var step = FineTuneSourceFixture.SourceSteps;
        AssertLineage(new InitLineageReport(source.SourceUri, $"{source.SourceUri}/{CheckpointLayout.DirectoryName(step)}", step, Head), run.ReadTerminationReport().Lineage);
        Assert.Equal(before, SourceObjects());
    }

    [Fact]
    public async Task Train_Should_StartFromTheSourcesOptimizerStateToo_When_EveryParameterMatchesAndInitOptimizerIsTrue()
    {
        using var run = new TrainerRun();
        string[] flags = ["--model", "cnn", "--dataset", DatasetNames.ImageFolder, "--data", source.TenClasses, "--batch-size", "20", "--init-from", source.SourceDirectory, "--init-optimizer", "true"];
        using (var trainer = TrainerProcess.Start(run.Args(flags), new Dictionary<string, string> { ["K8STRAINING_TEST_START_DELAY_MS"] = "120000" }))
        {
            await Eventually.TrueAsync(() => trainer.Stdout.Contains("Initialised the optimizer state", StringComparison.Ordinal), Deadline, "the optimizer's init line");
            trainer.SendSigterm();
            var code = await trainer.WaitForExitAsync(Deadline);
            Assert.True(code == TrainerExitCodes.Interrupted, $"exit {code}\n{trainer.Stdout}\n{trainer.Stderr}");
        }

        var best = Path.Combine(source.SourceDirectory, CheckpointLayout.DirectoryName(source.Report.Best!.GlobalStep));
        var stepZero = Path.Combine(run.CheckpointDirectory, CheckpointLayout.DirectoryName(0));
        Assert.Empty(run.ReadTerminationReport().Lineage!.SkippedParameters!);
        foreach (var file in new[] { CheckpointCodec.ModelFile, CheckpointCodec.OptimizerFile })
        {
            Assert.True(File.ReadAllBytes(Path.Combine(best, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(stepZero, file))), $"step 0's {file} is not the source's");
        }
    }

    [Theory]
    [InlineData("the optimizer state with a new head", "--init-optimizer", "true", "fc2.weight, fc2.bias did not; use --init-optimizer false")]
    [InlineData("another architecture", "--model", "mlp", "no parameter of")]
    public async Task Train_Should_ExitTwoWithTheFix_When_TheSourceCannotInitialiseThisRun(string name, string flag, string value, string expected)
    {
        using var run = new TrainerRun();

        var (code, process) = await TrainerProcess.RunAsync(run.Args([.. FineTune("--init-from", source.SourceDirectory), flag, value]));

        using (process)
        {
            Assert.True(code == TrainerExitCodes.InvalidConfiguration, $"{name}: exit {code}\n{process.Stdout}\n{process.Stderr}");
        }
        var report = run.ReadTerminationReport();
        Assert.Equal(TerminationReasons.InvalidConfiguration, report.Reason);
        Assert.Contains(expected, report.Message, StringComparison.Ordinal);
        Assert.Empty(run.CommittedSteps());
    }

    private static void AssertLineage(InitLineageReport expected, InitLineageReport? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal((expected.Source, expected.Checkpoint, expected.GlobalStep), (actual.Source, actual.Checkpoint, actual.GlobalStep));
        Assert.Equal(expected.SkippedParameters, actual.SkippedParameters);
    }

    // Every file s3rver keeps for the source prefix, with its size and time: any write there would change it.
    private List<string> SourceObjects()
    {
        var root = Path.Combine(source.Server.DataDirectory, S3rverServer.Bucket);
        return Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetRelativePath(root, f).StartsWith("source", StringComparison.Ordinal))
            .Select(f => $"{Path.GetRelativePath(root, f)} {new FileInfo(f).Length} {File.GetLastWriteTimeUtc(f):O}")
            .Order(StringComparer.Ordinal)
            .ToList();
    }
}
