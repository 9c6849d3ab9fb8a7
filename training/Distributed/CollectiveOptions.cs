namespace K8sTraining.Training.Distributed;

/// <summary>
/// How a process joins its group: the engine, its rank, the world size, the rendezvous endpoint (rank 0 serves it),
/// the address this process binds and advertises to its peers (null: its host name, as PyTorch does), and the timeout
/// of the rendezvous and of every operation.
/// </summary>
public sealed record CollectiveOptions(string Backend, int Rank, int WorldSize, string MasterAddress, int MasterPort, string? BindAddress, TimeSpan Timeout);
