using K8sTraining.CheckpointSync.Options;
using K8sTraining.Contract;

namespace K8sTraining.CheckpointSync.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class CheckpointSyncOptionsTests
{
    private static Dictionary<string, string?> Valid() => new()
    {
        [TrainerEnvironment.CheckpointDirectory] = "/checkpoints",
        [TrainerEnvironment.CheckpointUri] = "s3://bucket/jobs/a",
    };

    [Fact]
    public void FromEnvironment_Should_UseTheTrainersDefaultsAndTheSidecarsPort_When_OnlyTheDirectoryAndUriAreSet()
    {
        var options = CheckpointSyncOptions.FromEnvironment(n => Valid().GetValueOrDefault(n));

        Assert.Equal("/checkpoints", options.CheckpointDirectory);
        Assert.Equal(3, options.Keep);
        Assert.Equal(TimeSpan.FromSeconds(25), options.ShutdownTimeout);
        Assert.Equal(CheckpointSyncContract.DefaultMetricsPort, options.MetricsPort);
        Assert.Null(options.Owner);
    }

    [Fact]
    public void FromEnvironment_Should_ClaimThePrefixForTheJob_When_TheUidIsSet()
    {
        var env = Valid();
        env[TrainerEnvironment.JobUid] = "u-1";
        env[TrainerEnvironment.JobNamespace] = "ns";
        env[TrainerEnvironment.JobName] = "job";
        env[TrainerEnvironment.CheckpointAdopt] = "true";
        env[TrainerEnvironment.KeepCheckpoints] = "5";
        env[TrainerEnvironment.ShutdownTimeoutSeconds] = "55";
        env[TrainerEnvironment.MetricsPort] = "0";

        var options = CheckpointSyncOptions.FromEnvironment(n => env.GetValueOrDefault(n));

        Assert.Equal(new K8sTraining.Training.Storage.CheckpointOwnerClaim("u-1", "ns", "job", true), options.Owner);
        Assert.Equal((5, 55.0, 0), (options.Keep, options.ShutdownTimeout.TotalSeconds, options.MetricsPort));
    }

    public static TheoryData<string, string, string?, string> Invalid => new()
    {
        { "no directory", TrainerEnvironment.CheckpointDirectory, null, "is not set" },
        { "a relative directory", TrainerEnvironment.CheckpointDirectory, "checkpoints", "not an absolute path" },
        { "no URI", TrainerEnvironment.CheckpointUri, null, "is not set" },
        { "keep 0", TrainerEnvironment.KeepCheckpoints, "0", "from 1 to 10000" },
        { "keep not a number", TrainerEnvironment.KeepCheckpoints, "three", "from 1 to 10000" },
        { "shutdown timeout 0", TrainerEnvironment.ShutdownTimeoutSeconds, "0", "from 1 to 3600" },
        { "port out of range", TrainerEnvironment.MetricsPort, "70000", "from 0 to 65535" },
        { "adopt not a boolean", TrainerEnvironment.CheckpointAdopt, "yes", "not true or false" },
        { "adopt without a uid", TrainerEnvironment.CheckpointAdopt, "true", TrainerEnvironment.JobUid },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void FromEnvironment_Should_RefuseNamingTheVariable_When_AValueCannotWork(string because, string variable, string? value, string expected)
    {
        var env = Valid();
        env[variable] = value;

        var error = Assert.Throws<CheckpointSyncConfigurationException>(() => CheckpointSyncOptions.FromEnvironment(n => env.GetValueOrDefault(n)));

        Assert.True(error.Message.Contains(variable, StringComparison.Ordinal) && error.Message.Contains(expected, StringComparison.Ordinal), $"{because}: {error.Message}");
    }
}
