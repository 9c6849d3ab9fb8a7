using System.Text;
using K8sTraining.Contract;
using K8sTraining.Training.Storage;

namespace K8sTraining.Trainer.Tests.Unit;

/// <summary>The fencing decisions of the checkpoint protocol, as tables.</summary>
[Trait("Category", "Unit")]
public sealed class FencingTests
{
    private const string Job = "uid-a";

    [Theory]
    [InlineData("unset: no fencing", null, null)]
    [InlineData("blank: no fencing", " ", null)]
    [InlineData("first attempt", "1", 1)]
    [InlineData("surrounding spaces", " 7 ", 7)]
    public void ParseAttempt_Should_ReadTheToken_When_ItIsUnsetOrPositive(string name, string? value, int? expected)
    {
        _ = name;
        Assert.Equal(expected, Fencing.ParseAttempt(value));
    }

    [Theory]
    [InlineData("zero", "0")]
    [InlineData("negative", "-2")]
    [InlineData("not a number", "two")]
    [InlineData("signed", "+3")]
    public void ParseAttempt_Should_RefuseNamingTheVariable_When_ItIsNotAPositiveWholeNumber(string name, string value)
    {
        _ = name;
        var error = Assert.Throws<RemoteStoreConfigurationException>(() => Fencing.ParseAttempt(value));
        Assert.Contains(TrainerEnvironment.Attempt, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a newer attempt of the same job", 2, Job, 3, Job, true)]
    [InlineData("the same attempt (its own fence or commit)", 2, Job, 2, Job, false)]
    [InlineData("an older attempt (the zombie's commit before the fence)", 2, Job, 1, Job, false)]
    [InlineData("a newer attempt of another job (an adopted prefix)", 2, Job, 5, "uid-b", false)]
    [InlineData("a mark without an attempt (an unfenced trainer)", 2, Job, null, Job, false)]
    [InlineData("a standalone trainer with attempts, both without uid", 1, null, 2, null, true)]
    [InlineData("a job's attempt against a standalone mark", 1, Job, 2, null, false)]
    public void Supersedes_Should_CompareAttemptsOfOneJobOnly_When_AMarkIsFound(string name, int mine, string? mineUid, int? other, string? otherUid, bool expected)
    {
        _ = name;
        Assert.Equal(expected, Fencing.Supersedes(new FenceToken(mine, mineUid), other, otherUid));
    }

    [Fact]
    public void Supersedes_Should_NeverFenceATrainer_When_ItHasNoAttempt()
    {
        Assert.False(Fencing.Supersedes(null, int.MaxValue, null));
        Assert.Null(Fencing.NewerFence(null, [1, 2, 3]));
    }

    [Theory]
    [InlineData("no fences", 2, new int[0], null)]
    [InlineData("only its own", 2, new[] { 2 }, null)]
    [InlineData("older ones", 3, new[] { 1, 2, 3 }, null)]
    [InlineData("one newer", 2, new[] { 1, 2, 3 }, 3)]
    [InlineData("the newest of several", 1, new[] { 1, 4, 2, 3 }, 4)]
    public void NewerFence_Should_NameTheNewestAboveThisAttempt_When_FencesAreListed(string name, int mine, int[] fenced, int? expected)
    {
        _ = name;
        Assert.Equal(expected, Fencing.NewerFence(new FenceToken(mine, Job), fenced));
    }

    [Theory]
    [InlineData("nothing committed yet", 2, null, CommitVerdict.Proceed)]
    [InlineData("an older attempt committed", 2, 1, CommitVerdict.Proceed)]
    [InlineData("this attempt committed", 2, 2, CommitVerdict.Proceed)]
    [InlineData("a newer attempt committed", 2, 3, CommitVerdict.Superseded)]
    [InlineData("an unfenced trainer committed", 2, -1, CommitVerdict.Proceed)]
    public void BeforeWrite_Should_RefuseOnlyANewerAttemptsCommit_When_LatestJsonIsRead(string name, int mine, int? committedBy, CommitVerdict expected)
    {
        _ = name;
        var current = committedBy is null ? null : Latest(committedBy == -1 ? null : committedBy, "step-000000000050");
        Assert.Equal(expected, Fencing.BeforeWrite(new FenceToken(mine, Job), current));
    }

    [Theory]
    [InlineData("read back what was written", "ours", null, CommitVerdict.Proceed)]
    [InlineData("a newer attempt wrote after us", "theirs", 3, CommitVerdict.Superseded)]
    [InlineData("an older attempt wrote after us (store ignored If-Match)", "theirs", 1, CommitVerdict.Retry)]
    [InlineData("torn or unreadable", "theirs", null, CommitVerdict.Retry)]
    public void AfterWrite_Should_DecideFromWhatIsStored_When_LatestJsonIsReadBack(string name, string readBack, int? readBackAttempt, CommitVerdict expected)
    {
        _ = name;
        var ours = RemoteCheckpointDocuments.SerializeLatest(Latest(2, "step-000000000075"));
        var stored = readBack == "ours" ? ours : Encoding.UTF8.GetBytes("{\"other\":true}");
        var pointer = readBackAttempt is null ? null : Latest(readBackAttempt, "step-000000000075");
        Assert.Equal(expected, Fencing.AfterWrite(new FenceToken(2, Job), ours, stored, pointer));
    }

    public static TheoryData<string, int?, string[], string, int, string?, string[], string[], string[]> RetainCases => new()
    {
        // name, committed by, listed (newest first), committing, keep, keepAlways, invalid, expected kept, expected deleted
        { "first commit", null, [], "step-000000000025", 3, null, [], ["step-000000000025"], [] },
        { "keep 2 of the same attempt", 2, ["step-000000000050", "step-000000000025"], "step-000000000075", 2, null, [], ["step-000000000075", "step-000000000050"], ["step-000000000025"] },
        { "an older attempt's checkpoints are kept and counted", 1, ["step-000000000050", "step-000000000025"], "step-000000000075", 3, null, [], ["step-000000000075", "step-000000000050", "step-000000000025"], [] },
        { "the resumed-from checkpoint is never deleted", 2, ["step-000000000075", "step-000000000050", "step-000000000025"], "step-000000000100", 2, "step-000000000025", [], ["step-000000000100", "step-000000000075", "step-000000000025"], ["step-000000000050"] },
        { "an invalid checkpoint is unlisted, not counted, not deleted", 2, ["step-000000000050", "step-000000000025"], "step-000000000075", 2, null, ["step-000000000050"], ["step-000000000075", "step-000000000025"], [] },
        { "a zombie's newer checkpoint is unlisted, not deleted", 1, ["step-000000000100", "step-000000000050"], "step-000000000075", 3, null, [], ["step-000000000075", "step-000000000050"], [] },
        { "this attempt's own newer checkpoint stays listed", 2, ["step-000000000100", "step-000000000050"], "step-000000000075", 3, null, [], ["step-000000000100", "step-000000000075", "step-000000000050"], [] },
        { "keep 0 keeps all", 2, ["step-000000000050", "step-000000000025"], "step-000000000075", 0, null, [], ["step-000000000075", "step-000000000050", "step-000000000025"], [] },
    };

    [Theory]
    [MemberData(nameof(RetainCases))]
    public void Retain_Should_ListAndDeleteOnlyWhatThisAttemptMay_When_ACheckpointIsCommitted(
        string name, int? committedBy, string[] listed, string committing, int keep, string? keepAlways, string[] invalid, string[] expectedKept, string[] expectedDeleted)
    {
        _ = name;
        var current = listed.Length == 0 ? null : new LatestPointer(listed[0], 0, listed, committedBy, Job);
        var (kept, deleted) = Fencing.Retain(current, committing, keep, keepAlways, invalid.ToHashSet(), new FenceToken(2, Job));
        Assert.Equal(expectedKept, kept);
        Assert.Equal(expectedDeleted, deleted);
    }

    [Fact]
    public void Retain_Should_KeepThisAttemptsOwnCheckpoints_When_AStaleAttemptsPointerOverwroteItsCommit()
    {
        // The zombie's in-flight write landed after attempt 2's commit of step 75 (a store that ignores If-Match).
        var zombies = new LatestPointer("step-000000000050", 50, ["step-000000000050", "step-000000000025"], 1, Job);
        var (kept, deleted) = Fencing.Retain(zombies, "step-000000000100", 3, null, new HashSet<string>(), new FenceToken(2, Job), ["step-000000000075", "step-000000000050"]);
        Assert.Equal(["step-000000000100", "step-000000000075", "step-000000000050"], kept);
        Assert.Equal(["step-000000000025"], deleted);
    }

    public static TheoryData<string, string[], string, int, string?, string[], string[]> RetainBestCases => new()
    {
        // name, listed (newest first), committing, keep, best, expected kept, expected deleted
        { "the best older than the K newest stays", ["step-000000000050", "step-000000000025"], "step-000000000075", 1, "step-000000000025", ["step-000000000075", "step-000000000025"], ["step-000000000050"] },
        { "the best inside the window counts once", ["step-000000000050", "step-000000000025"], "step-000000000075", 2, "step-000000000050", ["step-000000000075", "step-000000000050"], ["step-000000000025"] },
        { "the best is the one committed", ["step-000000000050"], "step-000000000075", 1, "step-000000000075", ["step-000000000075"], ["step-000000000050"] },
        { "a best the store does not list is not invented", ["step-000000000050"], "step-000000000075", 1, "step-000000000010", ["step-000000000075"], ["step-000000000050"] },
        { "an earlier best goes once a newer best replaces it", ["step-000000000050", "step-000000000025"], "step-000000000075", 1, "step-000000000050", ["step-000000000075", "step-000000000050"], ["step-000000000025"] },
    };

    [Theory]
    [MemberData(nameof(RetainBestCases))]
    public void Retain_Should_KeepTheBestNamedByTheCommittedManifest_When_ItIsOlderThanTheNewestK(
        string name, string[] listed, string committing, int keep, string? best, string[] expectedKept, string[] expectedDeleted)
    {
        _ = name;
        var current = new LatestPointer(listed[0], 0, listed, 2, Job);
        var (kept, deleted) = Fencing.Retain(current, committing, keep, null, new HashSet<string>(), new FenceToken(2, Job), best: best);
        Assert.Equal(expectedKept, kept);
        Assert.Equal(expectedDeleted, deleted);
    }

    [Theory]
    [InlineData("attempt-0000000002.json", 2)]
    [InlineData("attempt-2.json", -1)]
    [InlineData("attempt-0000000002.json.tmp", -1)]
    [InlineData("step-000000000002", -1)]
    public void TryParseFenceFileName_Should_ReadTheAttempt_When_TheNameIsAFence(string name, int expected)
    {
        Assert.Equal(expected, CheckpointLayout.TryParseFenceFileName(name, out var attempt) ? attempt : -1);
        if (expected > 0)
        {
            Assert.Equal(name, CheckpointLayout.FenceFileName(expected));
        }
    }

    private static LatestPointer Latest(int? attempt, string checkpoint) =>
        new(checkpoint, CheckpointLayout.TryParseDirectoryName(checkpoint, out var step) ? step : 0, [checkpoint], attempt, Job);
}
