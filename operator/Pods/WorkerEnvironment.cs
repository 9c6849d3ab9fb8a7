using System.Globalization;
using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using k8s.Models;

namespace K8sTraining.Operator.Pods;

/// <summary>One worker of an attempt: its rank among the attempt's workers, and how many there are.</summary>
public sealed record WorkerSlot(int Rank, int Workers)
{
    /// <summary>The single pod of a one-worker job (named and built as before workers existed).</summary>
    public static WorkerSlot Single { get; } = new(0, 1);

    public bool IsGang => Workers > 1;
}

/// <summary>
/// The PyTorchJob-style variables of one worker (<see cref="DistributedEnvironment"/>), so a torchrun/DDP image runs
/// unchanged: WORLD_SIZE = workers x processesPerWorker, RANK = rank x processesPerWorker (the pod's first process),
/// LOCAL_RANK 0, LOCAL_WORLD_SIZE = processesPerWorker, MASTER_ADDR = worker 0's name through the job's headless
/// Service (127.0.0.1 for a single pod), MASTER_PORT 29500, POD_IP from the downward API.
/// </summary>
public static class WorkerEnvironment
{
    /// <summary>Every variable this sets; spec.env may not set them.</summary>
    public static readonly IReadOnlyList<string> Names =
    [
        DistributedEnvironment.WorldSize, DistributedEnvironment.Rank, DistributedEnvironment.LocalRank, DistributedEnvironment.LocalWorldSize,
        DistributedEnvironment.MasterAddress, DistributedEnvironment.MasterPort, DistributedEnvironment.PodIP,
    ];

    /// <summary>The loopback rendezvous of a single pod: its one process talks to itself.</summary>
    public const string SinglePodMasterAddress = "127.0.0.1";

    public static IReadOnlyList<V1EnvVar> For(TrainingJob job, int attempt, WorkerSlot worker)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(worker);
        var perWorker = job.Spec.EffectiveProcessesPerWorker;
        var master = worker.IsGang
            ? $"{PodNames.ForWorker(job.Metadata.Name, attempt, 0)}.{PodNames.ServiceFor(job.Metadata.Name)}"
            : SinglePodMasterAddress;
        static V1EnvVar Var(string name, int value) => new() { Name = name, Value = value.ToString(CultureInfo.InvariantCulture) };
        return
        [
            Var(DistributedEnvironment.WorldSize, worker.Workers * perWorker),
            Var(DistributedEnvironment.Rank, worker.Rank * perWorker),
            Var(DistributedEnvironment.LocalRank, 0),
            Var(DistributedEnvironment.LocalWorldSize, perWorker),
            new V1EnvVar { Name = DistributedEnvironment.MasterAddress, Value = master },
            Var(DistributedEnvironment.MasterPort, DistributedEnvironment.DefaultMasterPort),
            new V1EnvVar { Name = DistributedEnvironment.PodIP, ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "status.podIP" } } },
        ];
    }
}
