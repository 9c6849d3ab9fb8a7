using System.Globalization;
using K8sTraining.Contract;
using K8sTraining.Training.Options;

namespace K8sTraining.Training.Distributed;

/// <summary>
/// This process's place in a data-parallel job, from the PyTorchJob-style variables (<see cref="DistributedEnvironment"/>)
/// the operator sets on every worker (and torchrun would). Null from <see cref="FromEnvironment"/> when WORLD_SIZE is
/// absent or 1: the single-process trainer, unchanged.
/// </summary>
/// <param name="WorldSize">Processes in the job.</param>
/// <param name="Rank">This process's rank; rank 0 owns the checkpoints and the remote store.</param>
/// <param name="LocalRank">This process's index within its pod.</param>
/// <param name="LocalWorldSize">Processes in this pod.</param>
/// <param name="MasterAddress">Rank 0's rendezvous host.</param>
/// <param name="MasterPort">Rank 0's rendezvous port.</param>
/// <param name="PodIP">This pod's address (bound and advertised to peers); null: the host name.</param>
public sealed record DistributedSettings(int WorldSize, int Rank, int LocalRank, int LocalWorldSize, string MasterAddress, int MasterPort, string? PodIP)
{
    /// <summary>Whether this process writes the checkpoints and talks to the remote store.</summary>
    public bool IsRoot => Rank == 0;

    /// <summary>
    /// The settings the environment describes, or null for a single process (WORLD_SIZE unset, empty or 1). Bad values
    /// throw <see cref="OptionsException"/> (exit 2) naming the variable, the value and what is allowed.
    /// </summary>
    public static DistributedSettings? FromEnvironment(Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        string? Raw(string name) => environment(name) is { Length: > 0 } v ? v.Trim() : null;

        int Integer(string name, int fallback, int min, int max, string hint)
        {
            var raw = Raw(name);
            if (raw is null)
            {
                return fallback;
            }
            if (!int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
            {
                throw new OptionsException($"environment variable {name}: '{raw}' is not allowed; allowed: an integer from {min} to {max}{hint}");
            }
            return v;
        }

        var world = Integer(DistributedEnvironment.WorldSize, 1, 1, 65_536, " (processes in the job)");
        // RANK is checked against WORLD_SIZE even for one process: RANK 1 of 1 is a launcher mistake, not a single run.
        var rank = Integer(DistributedEnvironment.Rank, 0, 0, 65_535, "");
        if (rank >= world)
        {
            throw new OptionsException($"environment variable {DistributedEnvironment.Rank}: '{rank}' is not allowed with {DistributedEnvironment.WorldSize} {world}; allowed: 0 to {world - 1} (every process of the job needs its own rank)");
        }
        if (world == 1)
        {
            return null;
        }
        var localWorld = Integer(DistributedEnvironment.LocalWorldSize, 1, 1, world, $" and at most {DistributedEnvironment.WorldSize} {world}");
        var localRank = Integer(DistributedEnvironment.LocalRank, 0, 0, localWorld - 1, $" (below {DistributedEnvironment.LocalWorldSize} {localWorld})");
        var master = Raw(DistributedEnvironment.MasterAddress)
            ?? throw new OptionsException($"environment variable {DistributedEnvironment.MasterAddress}: required with {DistributedEnvironment.WorldSize} {world}; allowed: rank 0's host name or address (the operator sets <worker-0 pod>.<service>)");
        var port = Integer(DistributedEnvironment.MasterPort, DistributedEnvironment.DefaultMasterPort, 1, 65_535, "");
        return new DistributedSettings(world, rank, localRank, localWorld, master, port, Raw(DistributedEnvironment.PodIP));
    }
}
