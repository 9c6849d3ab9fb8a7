using K8sTraining.Operator.Api;
using K8sTraining.Operator.Reconciliation;
using K8sTraining.Operator.Tests.Builders;
using k8s.Models;

namespace K8sTraining.Operator.Tests.Reconciliation;

/// <summary>A pod that cannot start shows why on the job: in the Running condition, and in one Event.</summary>
[Trait("Category", "Unit")]
public sealed class PodStartProblemsTests
{
    private static readonly DateTimeOffset Now = TrainingJobBuilder.T0.AddMinutes(5);

    public sealed record Case(string Name, Func<TrainingJob, V1Pod> Pod, string? Reason, string? Message)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<Case> Cases() => new()
    {
        new("missing secret", j => PodBuilder.For(j, 1).Waiting("CreateContainerConfigError", "secret \"s3-credentials\" not found").Build(), "CreateContainerConfigError", "secret \"s3-credentials\" not found"),
        new("image pull back-off", j => PodBuilder.For(j, 1).Waiting("ImagePullBackOff", "Back-off pulling image \"nope:1\"").Build(), "ImagePullBackOff", "Back-off pulling image \"nope:1\""),
        new("image pull error", j => PodBuilder.For(j, 1).Waiting("ErrImagePull", "manifest unknown").Build(), "ErrImagePull", "manifest unknown"),
        new("root image under runAsNonRoot", j => PodBuilder.For(j, 1).Waiting("CreateContainerConfigError", "container has runAsNonRoot and image will run as root").Build(), "CreateContainerConfigError", "container has runAsNonRoot and image will run as root"),
        new("unschedulable", j => PodBuilder.For(j, 1).Unschedulable("0/3 nodes are available: 3 Insufficient nvidia.com/gpu.").Build(), "Unschedulable", "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."),
        new("waiting without a message", j => PodBuilder.For(j, 1).Waiting("InvalidImageName").Build(), "InvalidImageName", "InvalidImageName"),
        new("the checkpoint-sync sidecar's image cannot be pulled", j => InitWaiting(PodBuilder.For(j, 1).Waiting("PodInitializing").Build(), "ErrImagePull", "manifest unknown"), "ErrImagePull", "init container checkpoint-sync: manifest unknown"),
        new("an init container being initialized is no problem", j => InitWaiting(PodBuilder.For(j, 1).Waiting("PodInitializing").Build(), "PodInitializing", null), null, null),
        new("container being created is no problem", j => PodBuilder.For(j, 1).Waiting("ContainerCreating").Build(), null, null),
        new("plain pending is no problem", j => PodBuilder.For(j, 1).Build(), null, null),
    };

    private static V1Pod InitWaiting(V1Pod pod, string reason, string? message)
    {
        pod.Status.InitContainerStatuses = [new V1ContainerStatus { Name = K8sTraining.Contract.CheckpointSyncContract.ContainerName, State = new V1ContainerState { Waiting = new V1ContainerStateWaiting { Reason = reason, Message = message } } }];
        return pod;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Decide_Should_ShowWhyThePodCannotStart_When_ItWaitsOrIsUnschedulable(Case c)
    {
        var job = TrainingJobBuilder.Default().InPhase(JobPhases.Pending).WithStatus(s => s.ActivePod = "mnist-attempt-1").Build();

        var decision = TrainingJobDecider.Decide(job, [c.Pod(job)], Now);

        var running = Conditions.Find(decision.Status.Conditions, ConditionTypes.Running)!;
        Assert.Equal("False", running.Status);
        Assert.Equal(JobPhases.Pending, decision.Status.Phase);
        if (c.Reason is null)
        {
            Assert.Equal(ConditionReasons.PodPending, running.Reason);
            Assert.Empty(decision.Events);
        }
        else
        {
            Assert.Equal(c.Reason, running.Reason);
            Assert.EndsWith($"cannot start: {c.Message}", running.Message, StringComparison.Ordinal);
            var e = Assert.Single(decision.Events);
            Assert.Equal(("Warning", EventReasons.PodNotStarting), (e.Type, e.Reason));
            Assert.Contains(c.Message!, e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Decide_Should_RecordOneEvent_When_ThePodStaysStuckOverManyReconciles()
    {
        var job = TrainingJobBuilder.Default().InPhase(JobPhases.Pending).WithStatus(s => s.ActivePod = "mnist-attempt-1").Build();
        var events = new List<JobEvent>();
        string[] reasons = ["ErrImagePull", "ImagePullBackOff", "ErrImagePull", "ImagePullBackOff", "ImagePullBackOff"];
        for (var i = 0; i < reasons.Length; i++)
        {
            var d = TrainingJobDecider.Decide(job, [PodBuilder.For(job, 1).Waiting(reasons[i], "pull access denied").Build()], Now.AddSeconds(i * 10));
            job.Status = d.Status;
            events.AddRange(d.Events);
        }

        Assert.Single(events);

        // Another problem (the secret) is news: one more Event.
        var next = TrainingJobDecider.Decide(job, [PodBuilder.For(job, 1).Waiting("CreateContainerConfigError", "secret \"s3-credentials\" not found").Build()], Now.AddMinutes(2));
        Assert.Equal(EventReasons.PodNotStarting, Assert.Single(next.Events).Reason);
    }
}
