using K8sTraining.Training.Options;

namespace K8sTraining.Training.Distributed;

/// <summary>
/// The options one rank of a data-parallel job runs with. Batch sizes become global (--batch-size and every stage's
/// batchSize times the world size): the run's configuration, plan, schedule, re-cut on resume and
/// --scale-lr-with-batch all count global batches, so a checkpoint taken at one world size resumes at another as a
/// batch-size change would, from its global sample index. Ranks above 0 never touch the remote store (no
/// --checkpoint-uri, no --init-from: their weights and resume checkpoint come from rank 0), and only a pod's local rank
/// 0 serves --metrics-port. Without WORLD_SIZE above 1 the options are returned as they are.
/// </summary>
public static class RankOptions
{
    public static TrainerOptions For(TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Distributed is not { } d)
        {
            return options;
        }
        var world = d.WorldSize;
        return options with
        {
            BatchSize = checked(options.BatchSize * world),
            Stages = options.Stages?.Select(s => s.BatchSize is { } b ? s with { BatchSize = checked(b * world) } : s).ToList(),
            CheckpointUri = d.IsRoot ? options.CheckpointUri : null,
            InitFrom = d.IsRoot ? options.InitFrom : null,
            MetricsPort = d.LocalRank == 0 ? options.MetricsPort : null,
        };
    }
}
