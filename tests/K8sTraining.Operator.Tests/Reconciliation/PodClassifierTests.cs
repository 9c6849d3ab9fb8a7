using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Reconciliation;
using K8sTraining.Operator.Tests.Builders;
using k8s.Models;

namespace K8sTraining.Operator.Tests.Reconciliation;

[Trait("Category", "Unit")]
public sealed class PodClassifierTests
{
    private static readonly TrainingJob Job = TrainingJobBuilder.Default().Build();

    public static TheoryData<string, V1Pod, string, string> EndedPods() => new()
    {
        { "exit 0", PodBuilder.For(Job, 1).Exited(0).Build(), AttemptOutcomes.Succeeded, ConditionReasons.Completed },
        { "exit 0 while being evicted still succeeded", PodBuilder.For(Job, 1).Disrupted("EvictionByEvictionAPI").Exited(0).Build(), AttemptOutcomes.Succeeded, ConditionReasons.Completed },
        { "exit 75", PodBuilder.For(Job, 1).Exited(75).Build(), AttemptOutcomes.Preempted, "ExitCode75" },
        { "evicted, exit 75", PodBuilder.For(Job, 1).Disrupted("EvictionByEvictionAPI").Exited(75).Build(), AttemptOutcomes.Preempted, "EvictionByEvictionAPI" },
        { "scheduler preemption, SIGKILL", PodBuilder.For(Job, 1).Disrupted("PreemptionByScheduler").Exited(137).Build(), AttemptOutcomes.Preempted, "PreemptionByScheduler" },
        { "taint manager, SIGTERM unhandled", PodBuilder.For(Job, 1).Disrupted("DeletionByTaintManager").Exited(143).Build(), AttemptOutcomes.Preempted, "DeletionByTaintManager" },
        { "pod GC", PodBuilder.For(Job, 1).Disrupted("DeletionByPodGC").Exited(137).Build(), AttemptOutcomes.Preempted, "DeletionByPodGC" },
        { "kubelet termination", PodBuilder.For(Job, 1).Disrupted("TerminationByKubelet").Exited(137).Build(), AttemptOutcomes.Preempted, "TerminationByKubelet" },
        { "deleted while running", PodBuilder.For(Job, 1).Exited(137).Deleting().Build(), AttemptOutcomes.Preempted, "PodDeleted" },
        { "node lost (pod status reason)", WithReason(PodBuilder.For(Job, 1).Exited(137).Build(), "NodeLost"), AttemptOutcomes.Preempted, "NodeLost" },
        { "node lost (DisruptionTarget reason)", PodBuilder.For(Job, 1).Disrupted("NodeLost").Exited(137).Build(), AttemptOutcomes.Preempted, "NodeLost" },
        { "pod GC, never reported by a kubelet", PodBuilder.For(Job, 1).Disrupted("DeletionByPodGC").Deleting().Build(), AttemptOutcomes.Preempted, "DeletionByPodGC" },
        { "exit 76, fenced off by a newer attempt", PodBuilder.For(Job, 1).Exited(TrainerExitCodes.Superseded, PodBuilder.TerminationJson(TerminationStatuses.Superseded, 40, 0, 40, null, message: "attempt 2 committed step 50", reason: TerminationReasons.Superseded)).Build(), AttemptOutcomes.Preempted, TerminationReasons.Superseded },
        { "exit 76 without a termination message", PodBuilder.For(Job, 1).Exited(TrainerExitCodes.Superseded).Build(), AttemptOutcomes.Preempted, TerminationReasons.Superseded },
        { "the container could not be located after its node rebooted", PodBuilder.For(Job, 1).Exited(137, reason: PodClassifier.ContainerStatusUnknown).Build(), AttemptOutcomes.Preempted, PodClassifier.ContainerStatusUnknown },
        { "exit 2", PodBuilder.For(Job, 1).Exited(2).Build(), AttemptOutcomes.ConfigurationError, ConditionReasons.ConfigurationError },
        { "exit 2, prefix owned by another job", PodBuilder.For(Job, 1).Exited(2, PodBuilder.TerminationJson("invalid", 0, 0, 0, null, message: "owned by default/old", reason: TerminationReasons.CheckpointPrefixInUse)).Build(), AttemptOutcomes.ConfigurationError, ConditionReasons.CheckpointPrefixInUse },
        { "exit 69, storage unreachable", PodBuilder.For(Job, 1).Exited(69).Build(), AttemptOutcomes.StorageUnavailable, TerminationReasons.StorageUnavailable },
        { "exit 69 while evicted is a preemption", PodBuilder.For(Job, 1).Disrupted("EvictionByEvictionAPI").Exited(69).Build(), AttemptOutcomes.Preempted, "EvictionByEvictionAPI" },
        { "exit 1", PodBuilder.For(Job, 1).Exited(1).Build(), AttemptOutcomes.Failed, "Error" },
        { "OOMKilled", PodBuilder.For(Job, 1).Exited(137, reason: "OOMKilled").Build(), AttemptOutcomes.Failed, "OOMKilled" },
        { "SIGKILL without deletion", PodBuilder.For(Job, 1).Exited(137).Build(), AttemptOutcomes.Failed, "Error" },
    };

    private static V1Pod WithPhase(V1Pod pod, string phase)
    {
        pod.Status.Phase = phase;
        return pod;
    }

    private static V1Pod WithReason(V1Pod pod, string reason)
    {
        pod.Status.Reason = reason;
        return pod;
    }

    [Theory]
    [MemberData(nameof(EndedPods))]
    public void Classify_Should_TellPreemptionFromFailure_When_APodEnds(string name, V1Pod pod, string outcome, string reason)
    {
        Assert.Equal(PodState.Ended, PodClassifier.StateOf(pod));

        var result = PodClassifier.Classify(pod);

        Assert.True(outcome == result.Outcome, $"{name}: expected {outcome}, got {result.Outcome}");
        Assert.Equal(reason, result.Reason);
    }

    public static TheoryData<string, V1Pod, PodState> LivePods() => new()
    {
        { "created", PodBuilder.For(Job, 1).Build(), PodState.Pending },
        { "running", PodBuilder.For(Job, 1).Running().Build(), PodState.Running },
        { "running with a deletion timestamp", PodBuilder.For(Job, 1).Running().Deleting().Build(), PodState.Terminating },
        { "never started and deleted", PodBuilder.For(Job, 1).Deleting().Build(), PodState.Ended },
        { "trainer exited, its sidecar still runs", PodBuilder.For(Job, 1).Exited(75).SidecarRunning().Build(), PodState.Finishing },
        { "trainer exited while deleted, its sidecar still flushes", PodBuilder.For(Job, 1).Exited(75).Deleting().SidecarRunning().Build(), PodState.Terminating },
        { "deleted before the trainer started, its sidecar still runs", PodBuilder.For(Job, 1).Deleting().SidecarRunning().Build(), PodState.Terminating },
        { "trainer and sidecar both stopped, phase not yet written", WithPhase(PodBuilder.For(Job, 1).Exited(75).SidecarExited(0).Build(), "Running"), PodState.Ended },
        { "terminal phase, a stale running sidecar status", PodBuilder.For(Job, 1).SidecarRunning().Exited(75).Build(), PodState.Ended },
    };

    [Theory]
    [MemberData(nameof(LivePods))]
    public void StateOf_Should_SeeWhetherTheTrainerIsAlive_When_PodIsObserved(string name, V1Pod pod, PodState expected)
    {
        Assert.True(expected == PodClassifier.StateOf(pod), name);
    }

    [Fact]
    public void TryParse_Should_ReadTheLastJsonLine_When_TheMessageIsALogTail()
    {
        var text = "some log line\n" + PodBuilder.TerminationJson("preempted", 42, 1, 2, "s3://b/p/step-000000000042") + "\n";

        var message = TerminationMessage.TryParse(text);

        Assert.Equal(42, message?.GlobalStep);
        Assert.Equal("s3://b/p/step-000000000042", message?.Checkpoint);
        Assert.Null(TerminationMessage.TryParse("Traceback: boom"));
    }

    [Fact]
    public void TryParse_Should_ReadReasonAndResumedFrom_When_TheTrainerWritesThem()
    {
        const string text = """{"status":"failed","globalStep":150,"epoch":0,"stepInEpoch":150,"checkpoint":"s3://b/p/step-000000000150","checkpointUploaded":true,"message":"boom","reason":"StorageUnavailable","resumedFrom":{"globalStep":150,"epoch":0,"stepInEpoch":150,"checkpoint":"s3://b/p/step-000000000150"}}""";

        var message = TerminationMessage.TryParse(text);

        Assert.Equal(TerminationReasons.StorageUnavailable, message?.Reason);
        Assert.Equal(new ResumePoint(150, 0, 150, "s3://b/p/step-000000000150"), message?.ResumedFrom);
        Assert.Null(TerminationMessage.TryParse("""{"status":"completed","globalStep":1,"resumedFrom":null}""")?.ResumedFrom);
    }
}
