namespace K8sTraining.Contract;

/// <summary>
/// What a person looks at, beside the checkpoints: the plots and logs a trainer writes into its checkpoint directory and,
/// with a remote store, keeps under <c>{prefix}/artifacts/</c> with the same relative names (so they survive any
/// preemption). They are never inside a <c>step-N</c> directory: the commit protocol and manifests cover checkpoints only.
/// </summary>
public static class ArtifactLayout
{
    /// <summary>In the remote prefix: the folder that mirrors the artifacts of the checkpoint directory.</summary>
    public const string RemoteFolderName = "artifacts";

    /// <summary>In the checkpoint directory: the PNG plots rewritten at every epoch end.</summary>
    public const string PlotsFolderName = "plots";

    /// <summary>In the checkpoint directory: one human line per epoch, the resumes, and a closing block.</summary>
    public const string TextLogFileName = "training-log.txt";

    /// <summary>In the checkpoint directory: the CSV training log (the default of <c>--log-csv</c>).</summary>
    public const string CsvLogFileName = "training-log.csv";

    /// <summary>In the checkpoint directory: the LR finder's CSV and PNG of a <c>--lr auto</c> run.</summary>
    public const string LrFinderFolderName = "lr-finder";

    /// <summary>
    /// In the checkpoint directory: each stage's weights, <c>stages/NAME/best/</c> and <c>stages/NAME/last/</c> (the
    /// model, the EMA if any, and <see cref="StageInfoFileName"/>), synced like the other artifacts.
    /// </summary>
    public const string StagesFolderName = "stages";

    /// <summary>In <c>stages/NAME/</c>: the weights of the stage's best epoch (by the best metric on the validation split).</summary>
    public const string StageBestFolderName = "best";

    /// <summary>In <c>stages/NAME/</c>: the weights at the stage's end.</summary>
    public const string StageLastFolderName = "last";

    /// <summary>In a stage's best/ or last/: what the weights are (stage, epoch, global step, metric).</summary>
    public const string StageInfoFileName = "stage.json";

    /// <summary>The folders (all their files) and files of the checkpoint directory that are synced, relative to it.</summary>
    public static readonly IReadOnlyList<string> SyncedFolders = [PlotsFolderName, LrFinderFolderName];

    /// <inheritdoc cref="SyncedFolders"/>
    public static readonly IReadOnlyList<string> SyncedFiles = [TextLogFileName, CsvLogFileName];

    /// <summary>The remote name of an artifact: <c>artifacts/plots/schedule.png</c> for <c>plots/schedule.png</c>.</summary>
    public static string RemoteName(string relativePath)
    {
        ArgumentNullException.ThrowIfNull(relativePath);
        return $"{RemoteFolderName}/{relativePath.Replace('\\', '/').TrimStart('/')}";
    }
}
