using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;
using K8sTraining.Training.Loop;

namespace K8sTraining.Trainer.Tests.Unit;

/// <summary>The attempt reports its best checkpoint, located where a replacement (or a user) finds it.</summary>
[Trait("Category", "Unit")]
public sealed class AttemptBestTests
{
    private static readonly BestCheckpoint Best40 = new(40, 1, BestMetricNames.ValidationAccuracy, 0.92, BestWeightsNames.Raw);

    // name, best step named by the newest local manifest (null: none), newest remote commit (null: none), remote store,
    // expected location in the report (null: no best), expected durable (what the gauges export)
    [Theory]
    [InlineData("no best kept", null, null, false, null, false)]
    [InlineData("local only", 40L, null, false, "/ckpt/step-000000000040", true)]
    [InlineData("committed remotely with a newer one", 40L, 60L, true, "s3://b/p/step-000000000040", true)]
    [InlineData("the best itself is the newest commit", 40L, 40L, true, "s3://b/p/step-000000000040", true)]
    [InlineData("not yet uploaded: local path, not durable", 40L, 30L, true, "/ckpt/step-000000000040", false)]
    [InlineData("nothing committed remotely yet", 40L, null, true, "/ckpt/step-000000000040", false)]
    public void Report_Should_LocateTheBestRemotelyOnlyOnceCommitted_When_TheNewestManifestNamesIt(string name, long? bestStep, long? remoteStep, bool remoteStore, string? location, bool durable)
    {
        var attempt = new AttemptRecord();
        var best = bestStep is { } b ? Best40 with { GlobalStep = b } : null;
        attempt.RecordLocalCheckpoint(new LocalCheckpoint("/ckpt/step-000000000060", new CheckpointManifest(1, 60, 2, 0, DateTimeOffset.UnixEpoch, [], best)));
        var remote = remoteStep is { } r ? (r, CheckpointLayout.Location("s3://b/p", r)) : ((long, string)?)null;

        var report = attempt.Report(TerminationStatuses.Completed, "done", null, remote);

        Assert.True(location == report.Best?.Location, $"{name}: {report.Best?.Location}");
        if (best is not null)
        {
            Assert.Equal(BestCheckpointReport.Of(best, location!), report.Best);
        }
        Assert.True(durable == (attempt.DurableBest(remote, remoteStore) is not null), name);
    }

    [Fact]
    public void ToJsonLine_Should_CarryTheBest_When_TheReportHasOne()
    {
        var message = new TerminationMessage { Status = TerminationStatuses.Completed, Best = BestCheckpointReport.Of(Best40, "s3://b/p/step-000000000040") };

        var parsed = TerminationMessage.Parse(message.ToJsonLine());

        Assert.Contains("\"best\":{\"globalStep\":40,\"epoch\":1,\"metric\":\"val-accuracy\",\"value\":0.92,\"weights\":\"raw\",\"location\":\"s3://b/p/step-000000000040\"}", message.ToJsonLine(), StringComparison.Ordinal);
        Assert.Equal(message.Best, parsed?.Best);
    }
}
