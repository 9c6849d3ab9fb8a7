using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Pods;
using k8s.Models;

namespace K8sTraining.Operator.Tests.Builders;

/// <summary>Trainer pods in every state a kubelet can report: <c>PodBuilder.For(job, 1).Exited(75).Build()</c>.</summary>
public sealed class PodBuilder
{
    private readonly V1Pod _pod;

    private PodBuilder(TrainingJob job, int attempt, WorkerSlot? worker = null)
    {
        _pod = TrainerPodBuilder.Build(job, attempt, worker: worker);
        _pod.Metadata.Uid = worker is { IsGang: true } ? $"pod-uid-{attempt}-{worker.Rank}" : $"pod-uid-{attempt}";
        _pod.Status = new V1PodStatus { Phase = "Pending" };
    }

    public static PodBuilder For(TrainingJob job, int attempt) => new(job, attempt);

    /// <summary>Worker <paramref name="rank"/> of <paramref name="workers"/> of a multi-worker attempt.</summary>
    public static PodBuilder ForWorker(TrainingJob job, int attempt, int rank, int workers = 2) => new(job, attempt, new WorkerSlot(rank, workers));

    public PodBuilder Running()
    {
        _pod.Status.Phase = "Running";
        _pod.Status.ContainerStatuses = [new V1ContainerStatus { Name = WellKnown.TrainerContainer, State = new V1ContainerState { Running = new V1ContainerStateRunning() } }];
        return this;
    }

    public PodBuilder Exited(int exitCode, string? message = null, string? reason = null)
    {
        _pod.Status.Phase = exitCode == 0 ? "Succeeded" : "Failed";
        _pod.Status.ContainerStatuses =
        [
            new V1ContainerStatus
            {
                Name = WellKnown.TrainerContainer,
                State = new V1ContainerState
                {
                    Terminated = new V1ContainerStateTerminated { ExitCode = exitCode, Message = message, Reason = reason ?? (exitCode == 0 ? "Completed" : "Error") },
                },
            },
        ];
        return this;
    }

    /// <summary>Exit 75 with the trainer's termination message for a checkpoint at <paramref name="step"/>.</summary>
    public PodBuilder Checkpointed(long step, int epoch, long stepInEpoch, bool uploaded = true) =>
        Exited(75, TerminationJson("preempted", step, epoch, stepInEpoch, $"s3://k8straining/jobs/mnist/step-{step:D12}", uploaded));

    /// <summary>The trainer container waits, as the kubelet reports it (CreateContainerConfigError, ImagePullBackOff...).</summary>
    public PodBuilder Waiting(string reason, string? message = null)
    {
        _pod.Status.Phase = "Pending";
        _pod.Status.ContainerStatuses = [new V1ContainerStatus { Name = WellKnown.TrainerContainer, State = new V1ContainerState { Waiting = new V1ContainerStateWaiting { Reason = reason, Message = message } } }];
        return this;
    }

    /// <summary>The scheduler found no node: PodScheduled False, reason Unschedulable.</summary>
    public PodBuilder Unschedulable(string message)
    {
        _pod.Status.Conditions ??= [];
        _pod.Status.Conditions.Add(new V1PodCondition { Type = "PodScheduled", Status = "False", Reason = "Unschedulable", Message = message });
        return this;
    }

    public PodBuilder Disrupted(string reason)
    {
        _pod.Status.Conditions ??= [];
        _pod.Status.Conditions.Add(new V1PodCondition { Type = WellKnown.DisruptionTarget, Status = "True", Reason = reason });
        return this;
    }

    /// <summary>Bound to <paramref name="node"/> (the scheduler's doing).</summary>
    public PodBuilder OnNode(string node)
    {
        _pod.Spec.NodeName = node;
        return this;
    }

    /// <summary>DisruptionTarget True with <paramref name="reason"/> since <paramref name="since"/> (the taint manager, pod GC).</summary>
    public PodBuilder Disrupted(string reason, DateTimeOffset since)
    {
        _pod.Status.Conditions ??= [];
        _pod.Status.Conditions.Add(new V1PodCondition { Type = WellKnown.DisruptionTarget, Status = "True", Reason = reason, LastTransitionTime = since.UtcDateTime });
        return this;
    }

    public PodBuilder Deleting()
    {
        _pod.Metadata.DeletionTimestamp = TrainingJobBuilder.T0.UtcDateTime;
        _pod.Metadata.DeletionGracePeriodSeconds = 30;
        return this;
    }

    /// <summary>
    /// A native sidecar (an init container with restartPolicy Always) still running: the kubelet's phase stays Running
    /// while it runs, whatever the trainer did.
    /// </summary>
    public PodBuilder SidecarRunning(string name = CheckpointSyncContract.ContainerName)
    {
        _pod.Status.Phase = "Running";
        SetSidecar(name, new V1ContainerState { Running = new V1ContainerStateRunning() });
        return this;
    }

    /// <summary>A native sidecar that has stopped, with its termination message; the phase is the trainer's (Exited sets it).</summary>
    public PodBuilder SidecarExited(int exitCode, string? message = null, string name = CheckpointSyncContract.ContainerName)
    {
        SetSidecar(name, new V1ContainerState { Terminated = new V1ContainerStateTerminated { ExitCode = exitCode, Message = message, Reason = exitCode == 0 ? "Completed" : "Error" } });
        return this;
    }

    private void SetSidecar(string name, V1ContainerState state)
    {
        _pod.Status.InitContainerStatuses ??= [];
        var existing = _pod.Status.InitContainerStatuses.FirstOrDefault(c => c.Name == name);
        if (existing is null)
        {
            _pod.Status.InitContainerStatuses.Add(new V1ContainerStatus { Name = name, State = state, Started = state.Running is not null });
            return;
        }

        existing.State = state;
        existing.Started = state.Running is not null;
    }

    public PodBuilder WithoutFinalizer()
    {
        _pod.Metadata.Finalizers = null;
        return this;
    }

    public V1Pod Build() => _pod;

    public static string TerminationJson(string status, long step, int epoch, long stepInEpoch, string? checkpoint, bool uploaded = true, double? accuracy = null, string message = "", string? reason = null, object? resumedFrom = null) =>
        System.Text.Json.JsonSerializer.Serialize(new
        {
            status,
            globalStep = step,
            epoch,
            stepInEpoch,
            checkpoint,
            checkpointUploaded = uploaded,
            testAccuracy = accuracy,
            message,
            reason,
            resumedFrom,
        });
}
