using K8sTraining.Training.Checkpoints;
using K8sTraining.Training.Options;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace K8sTraining.Training.Distributed;

/// <summary>
/// This process's membership in a data-parallel job, as the training loop uses it: the shard of each epoch it trains,
/// the gradient buckets, the per-step agreement, and rank 0's weights, buffers and resume checkpoint handed to the others.
/// </summary>
public sealed class DataParallel(DistributedSettings settings, ICollective collective) : IDisposable
{
    public DistributedSettings Settings { get; } = settings;

    public ICollective Collective { get; } = collective;

    /// <summary>Whether this rank writes the checkpoints and owns the remote store.</summary>
    public bool IsRoot => Settings.IsRoot;

    public int Rank => Settings.Rank;

    public int World => Settings.WorldSize;

    /// <summary>Joins the group <paramref name="options"/> describe (rank 0 serves the rendezvous); a failure is a <see cref="CollectiveException"/>.</summary>
    public static DataParallel Connect(TrainerOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var settings = options.Distributed ?? throw new InvalidOperationException("Not a data-parallel run.");
        var collectiveOptions = new CollectiveOptions(options.DistBackend, settings.Rank, settings.WorldSize, settings.MasterAddress, settings.MasterPort, settings.PodIP, TimeSpan.FromSeconds(options.DistTimeoutSeconds));
        return new DataParallel(settings, CollectiveFactory.Connect(collectiveOptions, cancellationToken));
    }

    /// <summary>This rank's share of the rest of an epoch of <paramref name="count"/> samples from <paramref name="sampleInEpoch"/>, global batch <paramref name="globalBatch"/>.</summary>
    public EpochShard Shard(int count, int sampleInEpoch, int globalBatch) => new(count, sampleInEpoch, globalBatch / World, World, Rank);

    /// <summary>The gradient all-reduce of <paramref name="trainable"/>.</summary>
    public GradientBuckets Gradients(IReadOnlyList<Parameter> trainable) => new(Collective, trainable);

    /// <summary>The step's totals over all ranks and whether any rank asked to stop.</summary>
    public StepTally Agree(StepTally local) => StepTally.Agree(Collective, local);

    /// <summary>Every rank takes rank 0's weights and buffers.</summary>
    public void BroadcastWeights(nn.Module model) => WeightBroadcast.Parameters(Collective, model);

    /// <summary>Every rank takes rank 0's buffers (BatchNorm statistics), before an evaluation.</summary>
    public void BroadcastBuffers(nn.Module model) => WeightBroadcast.Buffers(Collective, model);

    /// <summary>Rank 0 sends its resume checkpoint (or none); the others receive it into <paramref name="store"/> and return their copy.</summary>
    public LocalCheckpoint? ShareResumePoint(LocalCheckpoint? rootCheckpoint, LocalCheckpointStore? store)
    {
        if (IsRoot)
        {
            ResumeTransfer.Send(Collective, rootCheckpoint);
            return rootCheckpoint;
        }
        // Without a checkpoint directory of its own a rank still takes the copy, in a scratch directory.
        store ??= new LocalCheckpointStore(Path.Combine(Path.GetTempPath(), $"k8straining-rank-{Rank}-{Environment.ProcessId}"), 1, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        return ResumeTransfer.Receive(Collective, store);
    }

    /// <summary>Returns once every rank got here.</summary>
    public void Barrier() => Collective.Barrier();

    public void Dispose() => Collective.Dispose();
}
