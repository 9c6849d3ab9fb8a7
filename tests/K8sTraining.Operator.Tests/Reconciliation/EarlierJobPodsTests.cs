using K8sTraining.Operator.Api;
using K8sTraining.Operator.Reconciliation;
using K8sTraining.Operator.Tests.Builders;
using k8s.Models;

namespace K8sTraining.Operator.Tests.Reconciliation;

/// <summary>
/// Pods named for a job that are not its own (its job is gone, or an earlier TrainingJob had the same name): which ones
/// are let go, and what a create that finds the name taken does.
/// </summary>
[Trait("Category", "Unit")]
public sealed class EarlierJobPodsTests
{
    private static TrainingJob Current => TrainingJobBuilder.Default().InPhase(JobPhases.Running).Build();

    /// <summary>The TrainingJob of the same name that was deleted before the current one was created.</summary>
    private static TrainingJob Earlier
    {
        get
        {
            var job = TrainingJobBuilder.Default().InPhase(JobPhases.Running).Build();
            job.Metadata.Uid = "uid-earlier-mnist";
            return job;
        }
    }

    /// <summary>One row: the job (null: gone from the cache), the pods named for it, and the pods to let go.</summary>
    public sealed record ReleaseCase(string Name, TrainingJob? Job, V1Pod[] Named, string[] Released)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<ReleaseCase> ReleaseCases() => new()
    {
        new("job gone: its ended pod is let go", null, [PodBuilder.For(Current, 1).Exited(143).Deleting().Build()], ["mnist-attempt-1"]),
        new("job gone: a running pod is left to garbage collection", null, [PodBuilder.For(Current, 1).Running().Deleting().Build()], []),
        new("job gone: an ended pod already let go needs nothing", null, [PodBuilder.For(Current, 1).Exited(0).WithoutFinalizer().Build()], []),
        new("job gone: only the ended of several pods", null,
            [PodBuilder.For(Current, 1).Exited(75).Build(), PodBuilder.For(Current, 2).Running().Build()], ["mnist-attempt-1"]),
        new("earlier job's ended pod is let go so its name frees up", Current, [PodBuilder.For(Earlier, 1).Exited(0).Build()], ["mnist-attempt-1"]),
        new("earlier job's running pod is left alone", Current, [PodBuilder.For(Earlier, 2).Running().Build()], []),
        new("the job's own ended pod is the decider's, not released here", Current, [PodBuilder.For(Current, 1).Exited(75).Build()], []),
        new("earlier and own pods together: only the earlier one", Current,
            [PodBuilder.For(Earlier, 1).Exited(1).Build(), PodBuilder.For(Current, 2).Exited(75).Build()], ["mnist-attempt-1"]),
    };

    [Theory]
    [MemberData(nameof(ReleaseCases))]
    public void Release_Should_LetGoTheEndedPodsOfAnotherJob_When_TheyHoldTheJobsNames(ReleaseCase c)
    {
        var released = TrainingJobDecider.ReleaseOrphans(c.Job, c.Named);

        Assert.Equal(c.Released, released.Select(r => r.Name).ToArray());
    }

    /// <summary>One row: the pod a create found holding the name, and what the job does (null: adopt it).</summary>
    public sealed record NameCase(string Name, V1Pod Holder, bool? DeleteHolder)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<NameCase> NameCases() => new()
    {
        new("the job's own pod (created before a crash) is adopted", PodBuilder.For(Current, 1).Build(), null),
        new("an earlier job's ended pod is deleted, and the job waits", PodBuilder.For(Earlier, 1).Exited(0).Build(), true),
        new("an earlier job's ended pod already being deleted is waited for", PodBuilder.For(Earlier, 1).Exited(143).Deleting().Build(), false),
        new("an earlier job's running pod is waited for, never deleted", PodBuilder.For(Earlier, 1).Running().Build(), false),
        new("an earlier job's pending pod is waited for", PodBuilder.For(Earlier, 1).Build(), false),
    };

    [Theory]
    [MemberData(nameof(NameCases))]
    public void NameHeld_Should_AdoptOrWaitForTheHolder_When_ACreateFindsThePodsNameTaken(NameCase c)
    {
        var held = TrainingJobDecider.NameHeld(Current, c.Holder);

        Assert.Equal(c.DeleteHolder, held?.DeleteHolder);
        if (held is not null)
        {
            Assert.Equal(TimeSpan.FromSeconds(1), held.LookAgainAfter);
        }
    }
}
