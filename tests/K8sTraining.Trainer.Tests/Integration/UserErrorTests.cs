using K8sTraining.Contract;
using K8sTraining.Training.Hosting;
using K8sTraining.Trainer.Tests.Support;

namespace K8sTraining.Trainer.Tests.Integration;

/// <summary>
/// What a user gets wrong is reported as such by the real trainer: exit 2 with a message that names the file or
/// variable and the fix (never exit 1 with a stack trace, which the operator would retry as transient). Help is not an error.
/// </summary>
[Collection(TrainerProcessCollection.Name)]
[Trait("Category", "Integration")]
public sealed class UserErrorTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);

    [Theory]
    [InlineData("train --help", new[] { "train", "--help" })]
    [InlineData("train -h", new[] { "train", "-h" })]
    [InlineData("help after flags", new[] { "train", "--epochs", "2", "--help" })]
    [InlineData("trainer --help", new[] { "--help" })]
    [InlineData("trainer -h", new[] { "-h" })]
    public async Task Trainer_Should_PrintUsageAndExitZero_When_HelpIsAsked(string name, string[] args)
    {
        _ = name;
        using var trainer = TrainerProcess.StartCommand(args);
        var code = await trainer.WaitForExitAsync(Deadline);
        Assert.True(code == TrainerExitCodes.Completed, $"exit {code}\n{trainer.Stdout}\n{trainer.Stderr}");
        Assert.Contains("usage: K8sTraining.Trainer train [flags]", trainer.Stdout, StringComparison.Ordinal);
        Assert.Contains("TRAINER_EPOCHS", trainer.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("error", trainer.Stderr, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Train_Should_ExitInvalidNamingTheVariableAndItsFlag_When_TrainerEpochsIsNotANumber()
    {
        using var run = new TrainerRun();
        var args = Without(run.Args(), "--epochs");
        var (code, process) = await TrainerProcess.RunAsync(args, new Dictionary<string, string> { ["TRAINER_EPOCHS"] = "abc" });
        using (process)
        {
            Assert.True(code == TrainerExitCodes.InvalidConfiguration, $"exit {code}\n{process.Stdout}\n{process.Stderr}");
            Assert.Contains("environment variable TRAINER_EPOCHS, read as --epochs: 'abc' is not allowed", process.Stderr, StringComparison.Ordinal);
        }
        var report = run.ReadTerminationReport();
        Assert.Equal((TerminationStatuses.Invalid, TerminationReasons.InvalidConfiguration), (report.Status, report.Reason));
        Assert.Contains("TRAINER_EPOCHS", report.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("truncated gz file", "train-images-idx3-ubyte.gz", "is truncated")]
    [InlineData("train files missing, test files present", "train-images-idx3-ubyte", "but not train-images-idx3-ubyte(.gz)")]
    public async Task Train_Should_ExitInvalidNamingTheFile_When_DatasetFilesAreDamagedOrMissing(string damage, string file, string expected)
    {
        using var run = new TrainerRun();
        var data = Path.Combine(run.Directory, "fashion-mnist");
        FashionMnistFiles.Write(data);
        if (damage == "truncated gz file")
        {
            var bytes = await File.ReadAllBytesAsync(Path.Combine(data, file));
            await File.WriteAllBytesAsync(Path.Combine(data, file), bytes[..(bytes.Length / 2)]);
        }
        else
        {
            File.Delete(Path.Combine(data, "train-images-idx3-ubyte.gz"));
            File.Delete(Path.Combine(data, "train-labels-idx1-ubyte.gz"));
        }

        var (code, process) = await TrainerProcess.RunAsync(run.Args("--dataset", "fashion-mnist", "--data", data));
        using (process)
        {
            Assert.True(code == TrainerExitCodes.InvalidConfiguration, $"exit {code}\n{process.Stdout}\n{process.Stderr}");
            Assert.DoesNotContain("   at ", process.Stdout + process.Stderr, StringComparison.Ordinal);
        }
        var report = run.ReadTerminationReport();
        Assert.Equal((TerminationStatuses.Invalid, TerminationReasons.InvalidConfiguration), (report.Status, report.Reason));
        Assert.Contains(Path.Combine(data, file), report.Message, StringComparison.Ordinal);
        Assert.Contains(expected, report.Message, StringComparison.Ordinal);
        Assert.Contains("Download the four Fashion-MNIST files", report.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Train_Should_ExitInvalidNamingTheDirectory_When_CheckpointDirectoryIsAFile()
    {
        using var run = new TrainerRun();
        var file = Path.Combine(run.Directory, "not-a-dir");
        await File.WriteAllTextAsync(file, "x");
        var (code, process) = await TrainerProcess.RunAsync(run.Args("--checkpoint-dir", file));
        using (process)
        {
            Assert.True(code == TrainerExitCodes.InvalidConfiguration, $"exit {code}\n{process.Stdout}\n{process.Stderr}");
        }
        var report = run.ReadTerminationReport();
        Assert.Equal(TerminationReasons.InvalidConfiguration, report.Reason);
        Assert.Contains($"--checkpoint-dir {file} is a file", report.Message, StringComparison.Ordinal);
    }

    [ReadOnlyDirectoryFact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task Train_Should_ExitInvalidNamingTheDirectory_When_CheckpointDirectoryIsReadOnly()
    {
        using var run = new TrainerRun();
        using var readOnly = ReadOnlyDirectory.Create();
        var (code, process) = await TrainerProcess.RunAsync(run.Args("--checkpoint-dir", readOnly.Path));
        using (process)
        {
            Assert.True(code == TrainerExitCodes.InvalidConfiguration, $"exit {code}\n{process.Stdout}\n{process.Stderr}");
        }
        var report = run.ReadTerminationReport();
        Assert.Equal(TerminationReasons.InvalidConfiguration, report.Reason);
        Assert.Contains($"--checkpoint-dir {readOnly.Path}", report.Message, StringComparison.Ordinal);
        Assert.Contains("writable", report.Message, StringComparison.Ordinal);
    }

    // A real full disk: a tmpfs that holds two checkpoints of this model (about 2.5 MB each) but not a third.
    [TmpfsFact]
    public async Task Train_Should_ExitFailedReportingTheTruePositionAndCleanUp_When_TheDiskFillsUp()
    {
        using var run = new TrainerRun();
        using var disk = Tmpfs.Mount("6m");
        var checkpoints = Path.Combine(disk.Path, "checkpoints");
        using var trainer = TrainerProcess.Start(run.Args("--checkpoint-dir", checkpoints, "--keep-checkpoints", "5", "--log-csv", Path.Combine(run.Directory, "log.csv")));
        var code = await trainer.WaitForExitAsync(Deadline);

        Assert.True(code == TrainerExitCodes.Failed, $"exit {code}\n{trainer.Stdout}\n{trainer.Stderr}");
        Assert.Contains("No space left on device", trainer.Stdout + trainer.Stderr, StringComparison.Ordinal);
        // One line that says what to do, not a stack trace: a full volume is not a bug in the trainer.
        Assert.Contains("Disk full:", trainer.Stdout + trainer.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", trainer.Stdout + trainer.Stderr, StringComparison.Ordinal);
        var kept = Directory.GetDirectories(checkpoints, "step-*").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.True(kept.Count >= 2, $"the disk should hold two checkpoints before it fills: {string.Join(", ", kept)}");
        Assert.Empty(Directory.GetDirectories(checkpoints, "*.tmp-*"));
        var report = run.ReadTerminationReport();
        Assert.Equal(TerminationStatuses.Failed, report.Status);
        Assert.True(report.GlobalStep > TrainerRun.CheckpointEvery * kept.Count && report.GlobalStep >= trainer.LastGlobalStep,
            $"reported step {report.GlobalStep}, last logged {trainer.LastGlobalStep}, kept {string.Join(", ", kept)}");
        Assert.Equal(Path.Combine(checkpoints, kept[^1]!), report.Checkpoint);
        Assert.False(report.CheckpointUploaded);
    }

    private static List<string> Without(IReadOnlyList<string> args, string flag)
    {
        var list = args.ToList();
        var at = list.IndexOf(flag);
        list.RemoveRange(at, 2);
        return list;
    }
}
