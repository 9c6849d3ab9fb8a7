using K8sTraining.Training.Plots;
using K8sTraining.Training.Progress;
using static K8sTraining.Trainer.Tests.Unit.Observers.ObserverScenario;

namespace K8sTraining.Trainer.Tests.Unit.Observers;

[Trait("Category", "Unit")]
public sealed class PlotsObserverTests : IDisposable
{
    private readonly string _directory = TempDirectory();

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void EpochPoints_Should_HoldTheWholeRunInOrder_When_HistoryAndARedoneEpochAreMerged()
    {
        var redone = Epoch(2) with { TrainLoss = 0.125 };

        var points = PlotsObserver.EpochPoints([Epoch(0, recipe: false), Epoch(1), Epoch(2), Epoch(3), redone]);

        Assert.Equal([0, 1, 2, 3], points.Select(p => p.Epoch));
        Assert.Equal(0.125, points[2].TrainLoss);
        Assert.True(double.IsNaN(points[0].WallSeconds) && double.IsNaN(points[0].TrainAccuracy) && double.IsNaN(points[0].ValidationLoss), "an old epoch's missing values are NaN");
        Assert.Equal((120.0, 0.5, 0.75, 0.6), (points[1].WallSeconds, points[1].TrainAccuracy, points[1].ValidationLoss, points[1].ValidationAccuracy));
        Assert.True(double.IsNaN(points[1].TestAccuracy));
    }

    [Theory]
    [InlineData("every step up to the last epoch's end", 3, 1000, 40, 0, 39)]
    [InlineData("evenly thinned, the last step kept", 4, 7, 8, 0, 49)]
    public void SchedulePoints_Should_CoverEveryOptimizerStepUpToNow_When_TheRunHasASchedule(string name, int lastEpoch, int maxPoints, int count, long first, long last)
    {
        var epochs = Enumerable.Range(0, lastEpoch + 1).Select(e => Epoch(e)).ToList();

        var points = PlotsObserver.SchedulePoints(Run(), epochs, maxPoints);

        Assert.Equal(count, points.Count);
        Assert.Equal((first, last), (points[0].Step, points[^1].Step));
        Assert.All(points, p => Assert.Equal(Schedule(p.Step, momentum: true).LearningRate, p.LearningRate));
        Assert.All(points, p => Assert.Equal(Schedule(p.Step, momentum: true).Momentum!.Value, p.Momentum));
        Assert.NotEmpty(name);
    }

    [Fact]
    public void SchedulePoints_Should_DrawTheOptimizersConstantMomentum_When_TheScheduleLeavesMomentumAlone()
    {
        var points = PlotsObserver.SchedulePoints(Run(scheduleMomentum: false), [Epoch(0), Epoch(1) with { Momentum = 0.95 }]);

        Assert.Equal(20, points.Count);
        Assert.All(points, p => Assert.Equal(0.95, p.Momentum));
    }

    [Fact]
    public void SchedulePoints_Should_UseEachEpochsLearningRate_When_TheLoopGivesNoSchedule()
    {
        var points = PlotsObserver.SchedulePoints(Run(schedule: false), [Epoch(1), Epoch(0, recipe: false)]);

        Assert.Equal([(10L, 0.1), (20L, 0.05)], points.Select(p => (p.Step, p.LearningRate)));
        Assert.True(double.IsNaN(points[0].Momentum));
        Assert.Equal(0.9, points[1].Momentum);
    }

    [Fact]
    public void OnEpochEnd_Should_RedrawTheThreePlotsOfTheWholeRun_When_AResumedRunFinishesAnEpoch()
    {
        var plots = Path.Combine(_directory, "plots");
        var observer = new PlotsObserver(plots);
        observer.OnStart(Run(history: [Epoch(0, recipe: false), Epoch(1), Epoch(2)], resumedAt: 30));

        observer.OnEpochEnd(Epoch(3), Progress(3, StepsPerEpoch));

        var files = Directory.GetFiles(plots).Select(Path.GetFileName).Order().ToList();
        Assert.Equal([TrainingPlots.ByEpochFileName, TrainingPlots.ByTimeFileName, TrainingPlots.ScheduleFileName], files);
        Assert.All(Directory.GetFiles(plots), f => Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(f)[..4]));
    }

    [Fact]
    public void OnEpochEnd_Should_WarnAndGoOn_When_ThePlotsCannotBeWritten()
    {
        var blocked = Path.Combine(_directory, "a-file");
        File.WriteAllText(blocked, "not a directory");
        var observer = new PlotsObserver(blocked);
        observer.OnStart(Run());

        observer.OnEpochEnd(Epoch(0), Progress(0, StepsPerEpoch));

        Assert.Equal("not a directory", File.ReadAllText(blocked));
    }
}
