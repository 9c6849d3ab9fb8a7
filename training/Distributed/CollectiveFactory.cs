using K8sTraining.Contract;

namespace K8sTraining.Training.Distributed;

/// <summary>Joins a collective group on the engine its options name (<see cref="CollectiveBackends"/>).</summary>
public static class CollectiveFactory
{
    /// <summary>
    /// Joins the group: every rank calls it with the same backend, world size, MASTER_ADDR and MASTER_PORT, and it returns
    /// once all have joined. Raises <see cref="CollectiveException"/> when the rendezvous does not complete within the
    /// options' timeout or the engine cannot be loaded (NCCL on a machine without it), and
    /// <see cref="ArgumentException"/> for options that cannot work.
    /// </summary>
    public static ICollective Connect(CollectiveOptions options, CancellationToken cancellationToken)
    {
        Validate(options);
        return options.Backend switch
        {
            CollectiveBackends.Gloo => GlooCollective.Connect(options, cancellationToken),
            CollectiveBackends.Nccl => NcclCollective.Connect(options, cancellationToken),
            _ => throw new ArgumentException(
                $"unknown collective backend '{options.Backend}': use one of {string.Join(", ", CollectiveBackends.All)}", nameof(options)),
        };
    }

    internal static void Validate(CollectiveOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.WorldSize < 1)
        {
            throw new ArgumentException($"{DistributedEnvironment.WorldSize} must be at least 1; it is {options.WorldSize}", nameof(options));
        }

        if (options.Rank < 0 || options.Rank >= options.WorldSize)
        {
            throw new ArgumentException(
                $"{DistributedEnvironment.Rank} must be 0 to {DistributedEnvironment.WorldSize} - 1 ({options.WorldSize - 1}); it is {options.Rank}", nameof(options));
        }

        if (string.IsNullOrWhiteSpace(options.MasterAddress))
        {
            throw new ArgumentException($"{DistributedEnvironment.MasterAddress} is empty: set it to rank 0's host name or address", nameof(options));
        }

        if (options.MasterPort is < 1 or > 65535)
        {
            throw new ArgumentException($"{DistributedEnvironment.MasterPort} must be 1 to 65535; it is {options.MasterPort}", nameof(options));
        }

        if (options.Timeout <= TimeSpan.Zero || options.Timeout.TotalMilliseconds > int.MaxValue)
        {
            throw new ArgumentException($"the collective timeout must be positive and under 24 days; it is {options.Timeout}", nameof(options));
        }
    }
}
