namespace K8sTraining.Contract;

/// <summary>
/// The PyTorchJob-style variables the operator gives every worker of a data-parallel job, so a torchrun/DDP image works
/// unchanged, and the built-in trainer reads the same ones.
/// </summary>
public static class DistributedEnvironment
{
    /// <summary>Processes in the whole job: workers times processes per worker.</summary>
    public const string WorldSize = "WORLD_SIZE";

    /// <summary>This process's rank, 0 to WORLD_SIZE - 1; rank 0 writes the checkpoints.</summary>
    public const string Rank = "RANK";

    /// <summary>This process's index within its pod (its GPU), 0 to LOCAL_WORLD_SIZE - 1.</summary>
    public const string LocalRank = "LOCAL_RANK";

    /// <summary>Processes in this pod.</summary>
    public const string LocalWorldSize = "LOCAL_WORLD_SIZE";

    /// <summary>The rendezvous host: worker 0's DNS name through the job's headless Service.</summary>
    public const string MasterAddress = "MASTER_ADDR";

    /// <summary>The rendezvous port on worker 0.</summary>
    public const string MasterPort = "MASTER_PORT";

    /// <summary>This pod's own address (the downward API's status.podIP): what the collective binds and advertises.</summary>
    public const string PodIP = "POD_IP";

    /// <summary>PyTorch's default rendezvous port.</summary>
    public const int DefaultMasterPort = 29500;
}
