using K8sTraining.Contract;
using K8sTraining.Training.Loop;
using K8sTraining.Training.Progress;
using static K8sTraining.Trainer.Tests.Unit.Observers.ObserverScenario;

namespace K8sTraining.Trainer.Tests.Unit.Observers;

[Trait("Category", "Unit")]
public sealed class TextLogObserverTests : IDisposable
{
    private readonly string _directory = TempDirectory();

    private string LogPath => Path.Combine(_directory, ArtifactLayout.TextLogFileName);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string[] EpochLines() => File.ReadAllLines(LogPath).Where(l => l.StartsWith("epoch ", StringComparison.Ordinal)).ToArray();

    [Theory]
    [InlineData("a recipe epoch", true, "epoch 2/5  step 20  train loss 0.5000  train acc 0.5000  val acc 0.6000  val loss 0.7500  ema val acc 0.6500  lr 0.05  momentum 0.9  mixing none  wall 0:02:00")]
    [InlineData("an old run's epoch: what it did not record is a dash", false, "epoch 2/5  step 20  train loss 0.5000  train acc -  val acc 0.6000  val loss -  lr 0.05  momentum -  mixing -  wall -")]
    public void EpochLineText_Should_SayWhatTheEpochMeasured_When_Written(string name, bool recipe, string expected)
    {
        Assert.Equal(expected, TextLogObserver.EpochLineText(Epoch(1, recipe), 5));
        Assert.NotEmpty(name);
    }

    [Theory]
    [InlineData("unknown", null, "-")]
    [InlineData("seconds", 59.4, "0:00:59")]
    [InlineData("over a day", 90061.0, "25:01:01")]
    public void Wall_Should_ShowHoursMinutesSeconds_When_Formatted(string name, double? seconds, string expected)
    {
        Assert.Equal(expected, TextLogObserver.Wall(seconds));
        Assert.NotEmpty(name);
    }

    [Fact]
    public void OnEpochEnd_Should_WriteOneLinePerEpochAfterAStartLine_When_TheRunIsFresh()
    {
        using (var log = new TextLogObserver(LogPath))
        {
            log.OnStart(Run());
            log.OnEpochEnd(Epoch(0), Progress(0, StepsPerEpoch));
            log.OnEpochEnd(Epoch(1), Progress(1, StepsPerEpoch));
        }

        var lines = File.ReadAllLines(LogPath);
        Assert.Equal(TextLogObserver.Title, lines[0]);
        Assert.StartsWith("--- started: 5 epoch(s)", lines[1], StringComparison.Ordinal);
        Assert.Equal(["epoch 1/5", "epoch 2/5"], EpochLines().Select(l => l[..9]));
    }

    [Fact]
    public void OnStart_Should_MarkTheResumeAndNotRepeatEpochs_When_AResumedRunRedoesAnEpochAlreadyLogged()
    {
        // Attempt 1 logged epochs 1-3 but was preempted after epoch 3 ended, before a checkpoint covered it.
        using (var first = new TextLogObserver(LogPath))
        {
            first.OnStart(Run());
            for (var e = 0; e < 3; e++)
            {
                first.OnEpochEnd(Epoch(e), Progress(e, StepsPerEpoch));
            }
            first.OnEnd(new TrainingEnd(false, 35, 3, 5, "/ckpt/step-000000000025", null, 190, null));
        }

        // Attempt 2 resumes from step 25 (its history: epochs 1-2), redoes epoch 3 and goes on with epoch 4.
        using (var second = new TextLogObserver(LogPath))
        {
            second.OnStart(Run(history: [Epoch(0), Epoch(1)], resumedAt: 25));
            second.OnEpochEnd(Epoch(2), Progress(2, StepsPerEpoch));
            second.OnEpochEnd(Epoch(3), Progress(3, StepsPerEpoch));
        }

        var lines = File.ReadAllLines(LogPath);
        Assert.Equal(["epoch 1/5", "epoch 2/5", "epoch 3/5", "epoch 4/5"], EpochLines().Select(l => l[..9]));
        var stopped = Array.FindIndex(lines, l => l.StartsWith("--- stopped at global step 35 (epoch 4, step 5 of it;", StringComparison.Ordinal));
        var resumed = Array.FindIndex(lines, l => l.StartsWith("--- resumed at global step 25 (", StringComparison.Ordinal));
        Assert.True(stopped > 0 && resumed == stopped + 1, string.Join('\n', lines));
        Assert.EndsWith("attempt 2", lines[resumed], StringComparison.Ordinal);
        Assert.StartsWith("epoch 4/5", lines[resumed + 1], StringComparison.Ordinal);
        Assert.Contains("checkpoint /ckpt/step-000000000025, wall 0:03:10", lines[stopped], StringComparison.Ordinal);
    }

    [Fact]
    public void OnStart_Should_WriteTheCheckpointsHistoryFirst_When_AResumedRunHasNoLog()
    {
        using (var log = new TextLogObserver(LogPath))
        {
            log.OnStart(Run(history: [Epoch(0), Epoch(1)], resumedAt: 20));
            log.OnEpochEnd(Epoch(2), Progress(2, StepsPerEpoch));
        }

        var lines = File.ReadAllLines(LogPath);
        Assert.Equal(TextLogObserver.Title, lines[0]);
        Assert.StartsWith("epoch 1/5", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("epoch 2/5", lines[2], StringComparison.Ordinal);
        Assert.StartsWith("--- resumed at global step 20", lines[3], StringComparison.Ordinal);
        Assert.StartsWith("epoch 3/5", lines[4], StringComparison.Ordinal);
    }

    [Fact]
    public void OnEnd_Should_CloseWithBestLastCheckpointTestAccuracyAndWallTime_When_TheRunCompletes()
    {
        var best = new BestCheckpoint(40, 3, BestMetricNames.ValidationAccuracy, 0.9312, BestWeightsNames.Ema);
        using (var log = new TextLogObserver(LogPath))
        {
            log.OnStart(Run(history: [Epoch(0), Epoch(1), Epoch(2)], resumedAt: 30));
            log.OnEpochEnd(Epoch(3, best: best), Progress(3, StepsPerEpoch));
            log.OnEpochEnd(Epoch(4, best: best), Progress(4, StepsPerEpoch));
            log.OnEnd(new TrainingEnd(true, 50, 5, 0, "/ckpt/step-000000000050", 0.9287, 3725, null));
        }

        var lines = File.ReadAllLines(LogPath);
        var end = Array.FindIndex(lines, l => l.StartsWith("=== completed 5 epoch(s) at global step 50", StringComparison.Ordinal));
        Assert.True(end > 0, string.Join('\n', lines));
        Assert.Equal(
            [
                "best checkpoint:  step-000000000040 (epoch 4, val-accuracy 0.9312, ema weights)",
                "last checkpoint:  /ckpt/step-000000000050",
                "test accuracy:    0.9287",
                "total wall time:  1:02:05 (training time)",
            ],
            lines[(end + 1)..]);
    }

    [Fact]
    public void OnEnd_Should_SayThereIsNoBest_When_TheRunHasNoValidationSplit()
    {
        using (var log = new TextLogObserver(LogPath))
        {
            log.OnStart(Run());
            log.OnEpochEnd(Epoch(0, recipe: false), Progress(0, StepsPerEpoch));
            log.OnEnd(new TrainingEnd(true, 10, 1, 0, null, null, null, null));
        }

        var text = File.ReadAllText(LogPath);
        Assert.Contains("best checkpoint:  none", text, StringComparison.Ordinal);
        Assert.Contains("test accuracy:    -", text, StringComparison.Ordinal);
        Assert.Contains("total wall time:  -", text, StringComparison.Ordinal);
    }
}
