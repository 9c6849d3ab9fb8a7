using K8sTraining.Operator.Api;
using K8sTraining.Operator.Reconciliation;
using K8sTraining.Operator.Tests.Builders;
using k8s.Models;

namespace K8sTraining.Operator.Tests.Reconciliation;

/// <summary>
/// The next attempt waits for the whole pod: a trainer that exited while a native sidecar (checkpoint-sync, flushing
/// its last upload) still runs has not ended its attempt. A replacement started then could resume before the last
/// upload was committed, or write latest.json beside the old sidecar.
/// </summary>
[Trait("Category", "Unit")]
public sealed class WholePodEndTests
{
    private static readonly DateTimeOffset Now = TrainingJobBuilder.T0.AddMinutes(5);

    public sealed record Case(string Name, TrainingJob Job, V1Pod[] Pods, string Phase, string[] Actions, int Attempt, bool EndRecorded)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<Case> Cases()
    {
        var running = TrainingJobBuilder.Default().InPhase(JobPhases.Running).Build();
        var recorded = TrainingJobBuilder.Default().AfterRecordedEnd(1, AttemptOutcomes.Preempted).WithStatus(s => s.Preemptions = 1).Build();
        return new TheoryData<Case>
        {
            new("trainer exited 75, its sidecar still uploads: no new attempt, the pod is kept",
                running, [PodBuilder.For(running, 1).Checkpointed(120, 1, 20).SidecarRunning().Build()], JobPhases.Running, [], 1, false),
            new("evicted, trainer exited 75, its sidecar flushes under the deletion: no new attempt",
                running, [PodBuilder.For(running, 1).Disrupted("EvictionByEvictionAPI").Checkpointed(120, 1, 20).Deleting().SidecarRunning().Build()], JobPhases.Running, [], 1, false),
            new("trainer exited 0, its sidecar still uploads: not Succeeded yet",
                running, [PodBuilder.For(running, 1).Exited(0).SidecarRunning().Build()], JobPhases.Running, [], 1, false),
            new("the sidecar stopped: the attempt ends and the replacement is created",
                running, [PodBuilder.For(running, 1).Checkpointed(120, 1, 20).SidecarExited(0).Build()], JobPhases.Restarting, ["Release mnist-attempt-1", "Create 2"], 2, true),
            new("an end recorded while the old pod's sidecar still runs: the replacement still waits",
                recorded, [PodBuilder.For(recorded, 1).Checkpointed(120, 1, 20).SidecarRunning().Build()], JobPhases.Restarting, [], 1, true),
        };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Decide_Should_StartTheNextAttemptOnlyAfterTheWholePodStopped_When_ASidecarOutlivesTheTrainer(Case c)
    {
        var decision = TrainingJobDecider.Decide(c.Job, c.Pods, Now);

        Assert.Equal(c.Phase, decision.Status.Phase);
        Assert.Equal(c.Actions, decision.Actions.Select(Describe).ToArray());
        Assert.Equal(c.Attempt, decision.Status.Attempt);
        Assert.Equal(c.EndRecorded, decision.Status.LastTermination?.Attempt == 1);
    }

    private static string Describe(JobAction action) => action switch
    {
        CreatePod c => $"Create {c.Attempt}",
        ReleasePod r => $"Release {r.Name}",
        DeletePod d => $"Delete {d.Name}",
        _ => action.GetType().Name,
    };
}
