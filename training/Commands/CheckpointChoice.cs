using System.Globalization;
using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;
using K8sTraining.Training.Options;

namespace K8sTraining.Training.Commands;

/// <summary>
/// Which checkpoint a command reads and which of its weights: <c>--checkpoint best|latest|step-N</c> from
/// <c>--checkpoint-uri</c> (when given) or <c>--checkpoint-dir</c>, and <c>--weights raw|ema</c> (default: the weights
/// the best was chosen by when reading the best, else raw).
/// </summary>
public sealed record CheckpointChoice(string Source, string Selector, string? Weights)
{
    public const string Best = "best";
    public const string Latest = "latest";

    /// <summary>The flags of every command that reads a checkpoint.</summary>
    public static readonly IReadOnlyList<(string Flag, string Value, string Default, string Help)> Flags =
    [
        ("--checkpoint", $"{Best}|{Latest}|{CheckpointLayout.DirectoryPrefix}N", Best, $"the checkpoint to read: the best (as recorded in the newest manifest), the newest, or the one at global step N"),
        ("--weights", string.Join('|', BestWeightsNames.All), $"the best's own with --checkpoint {Best}, else {BestWeightsNames.Raw}", $"the trained weights ({CheckpointCodec.ModelFile}) or their moving average ({CheckpointCodec.EmaFile}, needs a run with --ema-decay)"),
    ];

    /// <summary>Reads and checks the choice; throws <see cref="OptionsException"/> saying what is wrong and what is allowed.</summary>
    public static CheckpointChoice From(TrainerOptions options, IReadOnlyDictionary<string, string> own)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(own);
        var selector = own.GetValueOrDefault("--checkpoint") ?? Best;
        if (!IsSelector(selector))
        {
            throw new OptionsException($"--checkpoint: '{selector}' is not allowed; allowed: {Best}, {Latest}, {CheckpointLayout.DirectoryPrefix}N (a global step, such as {CheckpointLayout.DirectoryPrefix}250)");
        }
        var weights = own.GetValueOrDefault("--weights");
        if (weights is not null && !BestWeightsNames.All.Contains(weights, StringComparer.Ordinal))
        {
            throw new OptionsException($"--weights: '{weights}' is not allowed; allowed: {string.Join(", ", BestWeightsNames.All)}");
        }
        var source = options.CheckpointUri ?? options.CheckpointDirectory
            ?? throw new OptionsException("--checkpoint-dir or --checkpoint-uri is required: where the training run wrote its checkpoints (a local directory or s3://bucket/prefix)");
        return new CheckpointChoice(source, selector, weights);
    }

    /// <summary>True for best, latest and step-N with N a non-negative integer.</summary>
    public static bool IsSelector(string selector) =>
        selector is Best or Latest
        || (selector.StartsWith(CheckpointLayout.DirectoryPrefix, StringComparison.Ordinal)
            && selector.Length > CheckpointLayout.DirectoryPrefix.Length
            && long.TryParse(selector.AsSpan(CheckpointLayout.DirectoryPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out _));

    /// <summary>The weights to read from <paramref name="checkpoint"/>: raw or ema, by the rule in the class summary.</summary>
    public string WeightsOf(LocalCheckpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        return Weights
            ?? (Selector == Best && checkpoint.Manifest.Best is { } best && best.GlobalStep == checkpoint.Manifest.GlobalStep ? best.Weights : BestWeightsNames.Raw);
    }

    /// <summary>The path of the weights file; throws <see cref="InvalidInputException"/> when the checkpoint has none such.</summary>
    public string WeightsFile(LocalCheckpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var weights = WeightsOf(checkpoint);
        var name = weights == BestWeightsNames.Ema ? CheckpointCodec.EmaFile : CheckpointCodec.ModelFile;
        if (!checkpoint.Manifest.Files.Any(f => f.Name == name))
        {
            throw new InvalidInputException(weights == BestWeightsNames.Ema
                ? $"{checkpoint.Directory} has no {CheckpointCodec.EmaFile}: the run kept no moving average (train with --ema-decay), so use --weights {BestWeightsNames.Raw}"
                : $"{checkpoint.Directory} has no {CheckpointCodec.ModelFile}; choose another --checkpoint");
        }
        return checkpoint.FilePath(name);
    }

    /// <summary>Resolves the checkpoint (an s3:// source is restored into <paramref name="scratchDirectory"/>).</summary>
    public Task<LocalCheckpoint> ResolveAsync(string scratchDirectory, CancellationToken cancellationToken) =>
        CheckpointSelector.ResolveAsync(Source, Selector, scratchDirectory, cancellationToken);
}
