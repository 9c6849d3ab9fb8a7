using K8sTraining.Contract;
using K8sTraining.Training.Loop;
using K8sTraining.Training.Resume;

namespace K8sTraining.Training.Distributed;

/// <summary>
/// A resume at another world size (elastic: fewer or more workers than the checkpoint was trained with). The global
/// batch changes with it, which the resume takes as a batch-size change (re-cut from the global sample index, the
/// schedule rebuilt, --scale-lr-with-batch scaling by new/old global batch); this records the world size itself.
/// </summary>
public static class WorldResume
{
    /// <summary>The lineage entry of resuming <paramref name="saved"/> with <paramref name="world"/> ranks; null when the world is the same.</summary>
    public static LineageEntry? Change(TrainingState saved, int world)
    {
        ArgumentNullException.ThrowIfNull(saved);
        var before = saved.WorldSize ?? 1;
        return before == world
            ? null
            : new LineageEntry(saved.GlobalStep, EpochPosition.SampleInEpoch(saved), DistributedEnvironment.WorldSize, TrainingConfiguration.Show(before), TrainingConfiguration.Show(world));
    }

    /// <summary>The world size a state records: null for one process, so a single-process state.json stays as it always was.</summary>
    public static int? Recorded(int world) => world > 1 ? world : null;
}
