using System.Diagnostics;
using System.Globalization;
using K8sTraining.Contract;
using K8sTraining.Trainer.Tests.Integration;
using K8sTraining.Trainer.Tests.Support;
using Xunit.Abstractions;

namespace K8sTraining.Trainer.Tests.Distributed;

/// <summary>
/// Real trainer processes as the ranks of one data-parallel job on loopback, over Gloo: deterministic, stopped together
/// by a signal on any rank, resumed at another world size, and ended by a lost peer.
/// </summary>
[Collection(TrainerProcessCollection.Name)]
[Trait("Category", "Integration")]
public sealed class DataParallelTests(TwoRankReference reference, ITestOutputHelper output) : IClassFixture<TwoRankReference>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Train_Should_EndWithTheSameBytesRunToRun_When_TwoRanksTrain()
    {
        using var second = new RankGroup(2);

        var codes = await second.RunAsync(2);
        Assert.True(codes.All(c => c == TrainerExitCodes.Completed), $"exits {string.Join(",", codes)}\n{second.Logs()}");

        var again = await File.ReadAllBytesAsync(second.Runs[0].Output);
        var rankOne = await File.ReadAllBytesAsync(second.Runs[1].Output);
        Assert.True(reference.Weights.AsSpan().SequenceEqual(again), "two 2-rank runs ended with different weights");
        Assert.True(reference.Weights.AsSpan().SequenceEqual(rankOne), "rank 1 ended with other weights than rank 0");
        Assert.Contains("Data parallel: rank 1 of 2", second.Processes[1].Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Train_Should_StopBothRanksAtOneStepAndResumeToTheUninterruptedBytes_When_RankOneIsSigtermedMidEpoch()
    {
        using var group = new RankGroup(2);
        var ranks = group.Start(2, stepDelayMs: 40);
        await ranks[1].WaitForGlobalStepAsync(4, Deadline);
        ranks[1].SendSigterm();
        var codes = await group.WaitAllAsync(Deadline);
        output.WriteLine(group.Logs());

        Assert.True(codes.All(c => c == TrainerExitCodes.Interrupted), $"exits {string.Join(",", codes)}\n{group.Logs()}");
        var reports = group.Runs.Select(r => r.ReadTerminationReport()).ToList();
        Assert.All(reports, r => Assert.Equal(TerminationStatuses.Preempted, r.Status));
        var stopped = reports[0].GlobalStep!.Value;
        Assert.Equal(stopped, reports[1].GlobalStep);
        Assert.Equal((reports[0].Epoch, reports[0].StepInEpoch), (reports[1].Epoch, reports[1].StepInEpoch));
        Assert.Equal([stopped], group.Runs[0].CommittedSteps());
        Assert.Empty(group.Runs[1].CommittedSteps());
        Assert.Equal(Path.Combine(group.Runs[0].CheckpointDirectory, $"step-{stopped:D12}"), reports[0].Checkpoint);

        var resumedCodes = await group.RunAsync(2);
        Assert.True(resumedCodes.All(c => c == TrainerExitCodes.Completed), $"exits {string.Join(",", resumedCodes)}\n{group.Logs()}");
        Assert.All(group.Processes, p => Assert.Equal(stopped, TrainerRun.ResumedGlobalStep(p.Stdout)));
        var actual = await File.ReadAllBytesAsync(group.Runs[0].Output);
        Assert.True(reference.Weights.AsSpan().SequenceEqual(actual), "the resumed 2-rank run ended with other weights than the uninterrupted one");
    }

    [Fact]
    public async Task Train_Should_SeeEverySampleOncePerEpochAndComplete_When_ResumedAtWorldTwoThenOneThenTwo()
    {
        using var group = new RankGroup(2);

        var two = group.Start(2, stepDelayMs: 40);
        await two[0].WaitForGlobalStepAsync(4, Deadline);
        two[0].SendSigterm();
        var codes = await group.WaitAllAsync(Deadline);
        Assert.True(codes.All(c => c == TrainerExitCodes.Interrupted), $"2 ranks: exits {string.Join(",", codes)}\n{group.Logs()}");
        var firstStop = group.Runs[0].ReadTerminationReport().GlobalStep!.Value;

        var one = group.Start(1, stepDelayMs: 40);
        await one[0].WaitForGlobalStepAsync(firstStop + 5, Deadline);
        one[0].SendSigterm();
        codes = await group.WaitAllAsync(Deadline);
        Assert.True(codes.All(c => c == TrainerExitCodes.Interrupted), $"1 rank: exits {string.Join(",", codes)}\n{group.Logs()}");
        Assert.Contains("Resume changes the world size from 2 to 1", one[0].Stdout, StringComparison.Ordinal);

        codes = await group.RunAsync(2);
        Assert.True(codes.All(c => c == TrainerExitCodes.Completed), $"2 ranks again: exits {string.Join(",", codes)}\n{group.Logs()}");
        Assert.Contains("Resume changes the world size from 1 to 2", group.Processes[0].Stdout, StringComparison.Ordinal);
        Assert.Equal(TerminationStatuses.Completed, group.Runs[0].ReadTerminationReport().Status);

        var seen = Enumerable.Range(0, 2).SelectMany(r => File.ReadAllLines(group.TracePath(r)))
            .Select(l => l.Split(':'))
            .GroupBy(p => int.Parse(p[0], CultureInfo.InvariantCulture), p => p[1].Split(',').Select(i => int.Parse(i, CultureInfo.InvariantCulture)))
            .ToDictionary(g => g.Key, g => g.SelectMany(x => x).Order().ToList());
        Assert.Equal([0, 1], seen.Keys.Order());
        Assert.All(seen, e => Assert.True(Enumerable.Range(0, RankGroup.Samples).SequenceEqual(e.Value), $"epoch {e.Key} saw {e.Value.Count} samples, not each of {RankGroup.Samples} once"));
    }

    [Fact]
    public async Task Train_Should_ExitPeerLostWritingNothing_When_TheOtherRankIsKilled()
    {
        using var group = new RankGroup(2);
        var ranks = group.Start(2, stepDelayMs: 40, "--dist-timeout-seconds", "30");
        await ranks[0].WaitForGlobalStepAsync(3, Deadline);
        var clock = Stopwatch.StartNew();
        ranks[1].SendSigkill();

        var code = await ranks[0].WaitForExitAsync(Deadline);

        Assert.True(code == TrainerExitCodes.PeerLost, $"exit {code}\n{group.Logs()}");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"rank 0 took {clock.Elapsed} to notice");
        var report = group.Runs[0].ReadTerminationReport();
        Assert.Equal(TerminationReasons.PeerLost, report.Reason);
        Assert.Empty(group.Runs[0].CommittedSteps());
    }
}
