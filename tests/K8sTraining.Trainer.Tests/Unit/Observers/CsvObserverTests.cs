using K8sTraining.Training.Progress;
using static K8sTraining.Trainer.Tests.Unit.Observers.ObserverScenario;

namespace K8sTraining.Trainer.Tests.Unit.Observers;

[Trait("Category", "Unit")]
public sealed class CsvObserverTests : IDisposable
{
    private readonly string _directory = TempDirectory();

    private string LogPath => Path.Combine(_directory, "training-log.csv");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private List<Dictionary<string, string>> Rows()
    {
        var lines = File.ReadAllLines(LogPath);
        var header = lines[0].Split(',');
        return lines.Skip(1).Select(l => l.Split(',')).Select(cells =>
        {
            Assert.Equal(header.Length, cells.Length);
            return header.Zip(cells).ToDictionary(p => p.First, p => p.Second, StringComparer.Ordinal);
        }).ToList();
    }

    [Fact]
    public void OnStart_Should_PutTheRecipeColumnsAfterEveryOldOne_When_TheLogIsNew()
    {
        using (var csv = new CsvObserver(LogPath, everySteps: 1))
        {
            csv.OnStart(Run());
        }

        Assert.Equal(
            [.. CsvObserver.Header.Split(','), CsvObserver.ValidationAccuracyColumn, "classAccuracy.cat", "classAccuracy.dog", "momentum", "mixingMode", "validationLoss", "trainAccuracy", "emaValidationAccuracy"],
            File.ReadAllLines(LogPath).Single().Split(','));
    }

    [Fact]
    public void OnStep_Should_LogLearningRateMomentumAndMixingMode_When_ItWritesAStepRow()
    {
        using (var csv = new CsvObserver(LogPath, everySteps: 1))
        {
            csv.OnStart(Run());
            csv.OnStep(Progress(1, 3, learningRate: 0.0125, momentum: 0.875, mixing: "cutmix"));
        }

        var row = Assert.Single(Rows());
        Assert.Equal(("step", "13", "0.0125", "0.875", "cutmix"), (row["kind"], row["globalStep"], row["learningRate"], row["momentum"], row["mixingMode"]));
        Assert.Equal(("", "", ""), (row["validationLoss"], row["trainAccuracy"], row["emaValidationAccuracy"]));
    }

    [Fact]
    public void OnEpochEnd_Should_LogValidationLossTrainAndEmaAccuracy_When_TheEpochMeasuredThem()
    {
        using (var csv = new CsvObserver(LogPath, everySteps: 100))
        {
            csv.OnStart(Run());
            csv.OnEpochEnd(Epoch(0), Progress(0, StepsPerEpoch));
        }

        var row = Assert.Single(Rows());
        Assert.Equal("epoch", row["kind"]);
        Assert.Equal(("0.9", "mixup", "1.5", "0.4000", "0.5500"), (row["momentum"], row["mixingMode"], row["validationLoss"], row["trainAccuracy"], row["emaValidationAccuracy"]));
        Assert.Equal(("0.1", "", "0.5000", "0.2500", "0.7500"), (row["learningRate"], row["testAccuracy"], row["validationAccuracy"], row["classAccuracy.cat"], row["classAccuracy.dog"]));
    }

    [Fact]
    public void OnEpochEnd_Should_LeaveRecipeCellsEmpty_When_AnOldRunDidNotRecordThem()
    {
        using (var csv = new CsvObserver(LogPath, everySteps: 100))
        {
            csv.OnStart(Run());
            csv.OnEpochEnd(Epoch(1, recipe: false), Progress(1, StepsPerEpoch));
        }

        var row = Assert.Single(Rows());
        Assert.All(CsvObserver.RecipeColumns, c => Assert.Equal("", row[c]));
    }

    [Fact]
    public void OnStart_Should_KeepTheOldHeaderAndItsColumns_When_ItContinuesALogOfAnOlderTrainer()
    {
        const string OldHeader = CsvObserver.Header + ",validationAccuracy,classAccuracy.cat,classAccuracy.dog";
        File.WriteAllText(LogPath, OldHeader + "\n2026-01-01T00:00:00Z,step,0,1,1,0.5,0.1,10.0,,,,\n");

        using (var csv = new CsvObserver(LogPath, everySteps: 1))
        {
            csv.OnStart(Run(resumedAt: 1));
            csv.OnStep(Progress(0, 2));
            csv.OnEpochEnd(Epoch(0), Progress(0, StepsPerEpoch));
        }

        var lines = File.ReadAllLines(LogPath);
        Assert.Equal(OldHeader, lines[0]);
        Assert.Single(lines, l => l.StartsWith(CsvObserver.Header.Split(',')[0], StringComparison.Ordinal));
        var rows = Rows();
        Assert.Equal(3, rows.Count);
        Assert.Equal(("epoch", "0.5000", "0.2500"), (rows[2]["kind"], rows[2]["validationAccuracy"], rows[2]["classAccuracy.cat"]));
    }

    [Fact]
    public void OnStart_Should_StartANewLineFirst_When_TheLastRowWasTornByACrash()
    {
        using (var first = new CsvObserver(LogPath, everySteps: 1))
        {
            first.OnStart(Run());
            first.OnStep(Progress(0, 1));
        }
        File.AppendAllText(LogPath, "2026-01-01T00:00:00Z,st");

        using (var second = new CsvObserver(LogPath, everySteps: 1))
        {
            second.OnStart(Run(resumedAt: 1));
            second.OnStep(Progress(0, 2));
        }

        var lines = File.ReadAllLines(LogPath);
        Assert.Equal("2026-01-01T00:00:00Z,st", lines[2]);
        Assert.Equal("2", lines[3].Split(',')[4]);
    }
}
