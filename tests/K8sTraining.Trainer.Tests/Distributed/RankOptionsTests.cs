using K8sTraining.Contract;
using K8sTraining.Training.Distributed;
using K8sTraining.Training.Loop;
using K8sTraining.Training.Options;

namespace K8sTraining.Trainer.Tests.Distributed;

[Trait("Category", "Unit")]
public sealed class RankOptionsTests
{
    private static TrainerOptions Parse(int world, int rank, int localRank = 0) => OptionsParser.Parse(
        ["--batch-size", "16", "--checkpoint-uri", "s3://bucket/job", "--checkpoint-dir", "/tmp/ck", "--metrics-port", "9090", "--stages", """[{"name":"a","epochs":1},{"name":"b","epochs":1,"batchSize":8}]"""],
        name => name switch
        {
            DistributedEnvironment.WorldSize => world.ToString(System.Globalization.CultureInfo.InvariantCulture),
            DistributedEnvironment.Rank => rank.ToString(System.Globalization.CultureInfo.InvariantCulture),
            DistributedEnvironment.LocalRank => localRank.ToString(System.Globalization.CultureInfo.InvariantCulture),
            DistributedEnvironment.LocalWorldSize => "2",
            DistributedEnvironment.MasterAddress => "127.0.0.1",
            _ => null,
        });

    [Fact]
    public void For_Should_ReturnTheOptionsUnchanged_When_OneProcess()
    {
        var options = OptionsParser.Parse(["--batch-size", "16"], _ => null);

        Assert.Same(options, RankOptions.For(options));
    }

    [Theory]
    [InlineData("rank 0", 2, 0, 0, true, true)]
    [InlineData("rank 1, another pod", 2, 1, 0, false, true)]
    [InlineData("rank 3, second process of its pod", 4, 3, 1, false, false)]
    public void For_Should_MakeBatchesGlobalAndLeaveTheStoreToRankZero_When_DataParallel(string name, int world, int rank, int localRank, bool keepsStore, bool servesMetrics)
    {
        var options = RankOptions.For(Parse(world, rank, localRank));

        Assert.Equal(16 * world, options.BatchSize);
        Assert.Equal(16 * world, TrainingConfiguration.From(options).BatchSize);
        Assert.Null(options.Stages![0].BatchSize);
        Assert.Equal(8 * world, options.Stages[1].BatchSize);
        Assert.True(keepsStore == (options.CheckpointUri is not null), name);
        Assert.True(servesMetrics == (options.MetricsPort is not null), name);
        Assert.Equal("/tmp/ck", options.CheckpointDirectory);
    }
}
