using K8sTraining.Contract;

namespace K8sTraining.CheckpointSync.Sync;

/// <summary>Which complete checkpoint directory to hand to the store next, from the names in the checkpoint directory.</summary>
public static class StepDirectories
{
    /// <summary>
    /// The newest directory named exactly <c>step-</c> and 12 digits whose step is above <paramref name="handledStep"/>
    /// (the newest one already committed or queued), or null. Only such names are complete: a trainer writes under any
    /// other name (a temporary) and renames into place. Older new ones are skipped: the store would supersede them anyway.
    /// </summary>
    public static (string Name, long Step)? NewestAfter(IEnumerable<string> names, long handledStep)
    {
        ArgumentNullException.ThrowIfNull(names);
        (string Name, long Step)? newest = null;
        foreach (var name in names)
        {
            if (CheckpointLayout.TryParseDirectoryName(name, out var step) && step > handledStep && (newest is null || step > newest.Value.Step))
            {
                newest = (name, step);
            }
        }
        return newest;
    }
}
