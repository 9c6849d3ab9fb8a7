namespace K8sTraining.Contract;

/// <summary>
/// Which checkpoint a command reads (<c>--checkpoint best|latest|step-N</c> of evaluate, predict and export), from a
/// local checkpoint directory or an <c>s3://</c> prefix.
/// </summary>
public static class CheckpointSelectors
{
    /// <summary>The best checkpoint named by the newest checkpoint's manifest (in S3, by latest.json).</summary>
    public const string Best = "best";

    /// <summary>The newest checkpoint that verifies.</summary>
    public const string Latest = "latest";

    /// <summary>
    /// A checkpoint by its global step: <see cref="CheckpointLayout.DirectoryPrefix"/> and the step, zero-padded or not
    /// (<c>step-1200</c> or <c>step-000000001200</c>).
    /// </summary>
    public const string StepPrefix = CheckpointLayout.DirectoryPrefix;
}
