using K8sTraining.Contract;
using K8sTraining.Training.Distributed;
using K8sTraining.Training.Options;

namespace K8sTraining.Trainer.Tests.Distributed;

[Trait("Category", "Unit")]
public sealed class DistributedSettingsTests
{
    private static Func<string, string?> Env(params string[] pairs)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < pairs.Length; i += 2)
        {
            values[pairs[i]] = pairs[i + 1];
        }
        return name => values.GetValueOrDefault(name);
    }

    [Theory]
    [InlineData("nothing set")]
    [InlineData("world 1", DistributedEnvironment.WorldSize, "1", DistributedEnvironment.Rank, "0", DistributedEnvironment.MasterAddress, "127.0.0.1")]
    [InlineData("empty world", DistributedEnvironment.WorldSize, "")]
    public void FromEnvironment_Should_ReturnNull_When_TheJobIsOneProcess(string name, params string[] pairs)
    {
        Assert.True(DistributedSettings.FromEnvironment(Env(pairs)) is null, name);
    }

    [Fact]
    public void FromEnvironment_Should_ReadEveryVariable_When_TheOperatorSetsThem()
    {
        var settings = DistributedSettings.FromEnvironment(Env(
            DistributedEnvironment.WorldSize, "4", DistributedEnvironment.Rank, "3", DistributedEnvironment.LocalRank, "1",
            DistributedEnvironment.LocalWorldSize, "2", DistributedEnvironment.MasterAddress, "job-attempt-1-worker-0.job-workers",
            DistributedEnvironment.MasterPort, "29511", DistributedEnvironment.PodIP, "10.0.0.7"));

        Assert.Equal(new DistributedSettings(4, 3, 1, 2, "job-attempt-1-worker-0.job-workers", 29511, "10.0.0.7"), settings);
        Assert.False(settings!.IsRoot);
    }

    [Fact]
    public void FromEnvironment_Should_DefaultThePortAndLocalRank_When_Unset()
    {
        var settings = DistributedSettings.FromEnvironment(Env(DistributedEnvironment.WorldSize, "2", DistributedEnvironment.Rank, "0", DistributedEnvironment.MasterAddress, "127.0.0.1"));

        Assert.Equal(new DistributedSettings(2, 0, 0, 1, "127.0.0.1", DistributedEnvironment.DefaultMasterPort, null), settings);
        Assert.True(settings!.IsRoot);
    }

    [Theory]
    [InlineData("rank not below the world", "RANK", "'2' is not allowed with WORLD_SIZE 2", DistributedEnvironment.WorldSize, "2", DistributedEnvironment.Rank, "2", DistributedEnvironment.MasterAddress, "h")]
    [InlineData("rank 1 of a single process", "RANK", "'1' is not allowed with WORLD_SIZE 1", DistributedEnvironment.Rank, "1")]
    [InlineData("world not a number", "WORLD_SIZE", "'two' is not allowed", DistributedEnvironment.WorldSize, "two")]
    [InlineData("world zero", "WORLD_SIZE", "'0' is not allowed", DistributedEnvironment.WorldSize, "0")]
    [InlineData("negative rank", "RANK", "'-1' is not allowed", DistributedEnvironment.WorldSize, "2", DistributedEnvironment.Rank, "-1")]
    [InlineData("no master address", "MASTER_ADDR", "required with WORLD_SIZE 2", DistributedEnvironment.WorldSize, "2", DistributedEnvironment.Rank, "1")]
    [InlineData("port out of range", "MASTER_PORT", "'70000' is not allowed", DistributedEnvironment.WorldSize, "2", DistributedEnvironment.Rank, "1", DistributedEnvironment.MasterAddress, "h", DistributedEnvironment.MasterPort, "70000")]
    [InlineData("local rank not below the local world", "LOCAL_RANK", "'1' is not allowed", DistributedEnvironment.WorldSize, "2", DistributedEnvironment.Rank, "1", DistributedEnvironment.MasterAddress, "h", DistributedEnvironment.LocalRank, "1")]
    public void FromEnvironment_Should_RefuseNamingTheVariable_When_AValueIsBad(string name, string variable, string expected, params string[] pairs)
    {
        var error = Assert.Throws<OptionsException>(() => DistributedSettings.FromEnvironment(Env(pairs)));

        Assert.True(error.Message.StartsWith($"environment variable {variable}: ", StringComparison.Ordinal), $"{name}: {error.Message}");
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Contains("allowed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_Should_ReadTheDistributedFlagsAndEnvironment_When_Given()
    {
        var options = OptionsParser.Parse(["--dist-timeout-seconds", "12"], Env(
            DistributedEnvironment.WorldSize, "2", DistributedEnvironment.Rank, "1", DistributedEnvironment.MasterAddress, "127.0.0.1",
            TrainerEnvironment.DistBackend, CollectiveBackends.Nccl));

        Assert.Equal(2, options.Distributed!.WorldSize);
        Assert.Equal(CollectiveBackends.Nccl, options.DistBackend);
        Assert.Equal(12, options.DistTimeoutSeconds);
    }

    [Fact]
    public void Parse_Should_KeepTheSingleProcessDefaults_When_NoWorldIsSet()
    {
        var options = OptionsParser.Parse([], Env());

        Assert.Null(options.Distributed);
        Assert.Equal(CollectiveBackends.Gloo, options.DistBackend);
        Assert.Equal(300, options.DistTimeoutSeconds);
    }

    [Theory]
    [InlineData("unknown backend", "--dist-backend", "mpi")]
    [InlineData("zero timeout", "--dist-timeout-seconds", "0")]
    public void Parse_Should_Refuse_When_ADistributedFlagIsBad(string name, string flag, string value)
    {
        var error = Assert.Throws<OptionsException>(() => OptionsParser.Parse([flag, value], Env()));

        Assert.True(error.Message.StartsWith($"{flag}: '{value}' is not allowed", StringComparison.Ordinal), $"{name}: {error.Message}");
    }

    [Fact]
    public void Parse_Should_RefuseInitOptimizer_When_TheJobIsDataParallel()
    {
        var error = Assert.Throws<OptionsException>(() => OptionsParser.Parse(["--init-optimizer", "true"], Env(DistributedEnvironment.WorldSize, "2", DistributedEnvironment.Rank, "0", DistributedEnvironment.MasterAddress, "h")));

        Assert.Contains("WORLD_SIZE 2", error.Message, StringComparison.Ordinal);
    }
}
