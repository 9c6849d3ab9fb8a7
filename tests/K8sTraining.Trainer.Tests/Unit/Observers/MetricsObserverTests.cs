using System.Diagnostics.Metrics;
using K8sTraining.Contract;
using K8sTraining.Training.Loop;
using K8sTraining.Training.Metrics;
using Microsoft.Extensions.DependencyInjection;
using static K8sTraining.Trainer.Tests.Unit.Observers.ObserverScenario;

namespace K8sTraining.Trainer.Tests.Unit.Observers;

[Trait("Category", "Unit")]
public sealed class MetricsObserverTests
{
    [Theory]
    [InlineData("no validation split yet", null, null, null, null, null)]
    [InlineData("the first validation accuracy", null, 0.7, null, null, 0.7)]
    [InlineData("a worse epoch keeps the best", 0.8, 0.7, null, null, 0.8)]
    [InlineData("a better epoch raises it", 0.8, 0.85, null, null, 0.85)]
    [InlineData("the best checkpoint by accuracy is what counts (its EMA weights)", 0.8, 0.79, BestMetricNames.ValidationAccuracy, 0.83, 0.83)]
    [InlineData("a best checkpoint by loss says nothing of accuracy", 0.8, 0.82, BestMetricNames.ValidationLoss, 0.31, 0.82)]
    public void BestValidationAccuracy_Should_FollowTheBestCheckpointOrTheHighestEpoch_When_AnEpochEnds(string name, double? before, double? validation, string? bestMetric, double? bestValue, double? expected)
    {
        var epoch = new EpochMetrics(3, 40, 0.5, null, 0.1, validation, Best: bestMetric is null ? null : new BestCheckpoint(30, 2, bestMetric, bestValue!.Value, BestWeightsNames.Ema));

        Assert.Equal(expected, MetricsObserver.BestValidationAccuracy(before, epoch));
        Assert.NotEmpty(name);
    }

    [Fact]
    public void Observer_Should_ExportLearningRateAndBestAccuracyAcrossTheResume_When_Scraped()
    {
        var job = Guid.NewGuid().ToString("N");
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var trainerMetrics = new TrainerMetrics(services.GetRequiredService<IMeterFactory>(), "team-a", job);
        var observer = new MetricsObserver(trainerMetrics);

        // History: epoch 2 was the best (0.6); the new epoch 3 reaches 0.8 with a learning rate of 0.0125 at its steps.
        observer.OnStart(Run(history: [Epoch(0), Epoch(1)], resumedAt: 20));
        var afterStart = Collect(job);
        observer.OnStep(Progress(2, 4, learningRate: 0.0125));
        observer.OnEpochEnd(Epoch(3), Progress(3, StepsPerEpoch));
        var afterEpoch = Collect(job);

        Assert.Equal(0.6, afterStart[TrainerMetricNames.BestValidationAccuracy], 6);
        Assert.Equal(0.6, afterStart["k8straining_trainer_validation_accuracy"], 6);
        Assert.False(afterStart.ContainsKey(TrainerMetricNames.LearningRate));
        Assert.Equal(0.0125, afterEpoch[TrainerMetricNames.LearningRate]);
        Assert.Equal(0.8, afterEpoch[TrainerMetricNames.BestValidationAccuracy], 6);
        Assert.Equal(0.8, afterEpoch["k8straining_trainer_validation_accuracy"], 6);
    }

    /// <summary>One collection of the trainer's gauges for this job, as an exporter's scrape makes it.</summary>
    private static Dictionary<string, double> Collect(string job)
    {
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == TrainerMetrics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            foreach (var tag in tags)
            {
                if (tag.Key == JobMetricLabels.Name && (string?)tag.Value == job)
                {
                    values[instrument.Name] = value;
                }
            }
        }
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        listener.Start();
        listener.RecordObservableInstruments();
        return values;
    }
}
