using K8sTraining.Contract;

namespace K8sTraining.Operator.Tests.Api;

/// <summary>The checkpoint naming both sides rely on: the trainer writes it, the operator reads steps back from it.</summary>
public sealed class CheckpointLayoutTests
{
    [Theory]
    [Trait("Category", "Unit")]
    [InlineData(0, "step-000000000000")]
    [InlineData(42, "step-000000000042")]
    [InlineData(999_999_999_999, "step-999999999999")]
    public void DirectoryName_Should_PadTheStepToTwelveDigits_When_Named(long step, string expected)
    {
        Assert.Equal(expected, CheckpointLayout.DirectoryName(step));
        Assert.True(CheckpointLayout.TryParseDirectoryName(expected, out var parsed));
        Assert.Equal(step, parsed);
    }

    public static TheoryData<string, string?, long?> DirectoryNames => new()
    {
        { "committed checkpoint", "step-000000000150", 150 },
        { "temporary of an unfinished write", "step-000000000150.tmp-abcdef12", null },
        { "too few digits", "step-150", null },
        { "sign", "step-+00000000150", null },
        { "other document", "latest.json", null },
        { "staging copy", "step-000000000150-4242-1", null },
        { "null", null, null },
    };

    [Theory]
    [Trait("Category", "Unit")]
    [MemberData(nameof(DirectoryNames))]
    public void TryParseDirectoryName_Should_AcceptOnlyCommittedNames_When_Listing(string name, string? directory, long? expected)
    {
        var ok = CheckpointLayout.TryParseDirectoryName(directory, out var step);

        Assert.True(ok == expected.HasValue, name);
        if (expected is { } e)
        {
            Assert.Equal(e, step);
        }
    }

    public static TheoryData<string, string?, long?> Locations => new()
    {
        { "remote URI", "s3://k8straining/jobs/mnist/step-000000000042", 42 },
        { "remote URI with a trailing slash", "s3://k8straining/jobs/mnist/step-000000000042/", 42 },
        { "local path", "/var/run/k8straining/checkpoints/step-000000000007", 7 },
        { "prefix named like a checkpoint", "s3://b/step-000000000001/other", null },
        { "a file inside a checkpoint", "s3://b/p/step-000000000042/model.bin", null },
        { "no checkpoint", "s3://b/p", null },
        { "empty", "", null },
    };

    [Theory]
    [Trait("Category", "Unit")]
    [MemberData(nameof(Locations))]
    public void TryParseLocation_Should_ReadTheStepOfTheCheckpointDirectory_When_GivenItsLocation(string name, string? location, long? expected)
    {
        var ok = CheckpointLayout.TryParseLocation(location, out var step);

        Assert.True(ok == expected.HasValue, name);
        if (expected is { } e)
        {
            Assert.Equal(e, step);
        }
    }

    [Theory]
    [Trait("Category", "Unit")]
    [InlineData("s3://k8straining/jobs/mnist", 42, "s3://k8straining/jobs/mnist/step-000000000042")]
    [InlineData("s3://k8straining/jobs/mnist/", 42, "s3://k8straining/jobs/mnist/step-000000000042")]
    [InlineData("/var/run/k8straining/checkpoints", 5, "/var/run/k8straining/checkpoints/step-000000000005")]
    public void Location_Should_PutTheCheckpointDirectoryUnderTheRoot_When_Built(string root, long step, string expected)
    {
        var location = CheckpointLayout.Location(root, step);

        Assert.Equal(expected, location);
        Assert.True(CheckpointLayout.TryParseLocation(location, out var parsed) && parsed == step);
    }

    [Theory]
    [Trait("Category", "Unit")]
    [InlineData("s3://k8straining/jobs/mnist/step-000000000042", true)]
    [InlineData("/var/run/k8straining/checkpoints/step-000000000042", false)]
    [InlineData(null, false)]
    public void IsRemote_Should_BeTrueOnlyForTheRemoteStore_When_GivenALocation(string? location, bool expected)
    {
        Assert.Equal(expected, CheckpointLayout.IsRemote(location));
    }
}
