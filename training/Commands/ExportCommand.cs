using K8sTraining.Contract;
using K8sTraining.Training.Options;

namespace K8sTraining.Training.Commands;

/// <summary>
/// <c>export</c>: a checkpoint's weights alone (model.save format: load them with <c>module.load</c> into the same
/// network), written atomically; the checkpoint's manifest has verified them.
/// </summary>
public sealed class ExportCommand : ITrainerCommand
{
    public string Name => "export";

    public string Synopsis => "--output FILE [--checkpoint best] (--checkpoint-dir DIR | --checkpoint-uri s3://bucket/prefix) [--weights raw|ema]";

    public string Summary => "Writes a checkpoint's weights alone (the model.save format) for inference elsewhere.";

    public IReadOnlyList<(string Flag, string Value, string Default, string Help)> Flags { get; } =
    [
        .. CheckpointChoice.Flags,
        ("--output", "FILE", "", "where the weights go (required)"),
    ];

    public async Task<int> RunAsync(TrainerOptions options, IReadOnlyDictionary<string, string> own, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(own);
        ArgumentNullException.ThrowIfNull(output);
        var target = options.Output ?? throw new OptionsException("--output is required: the file the weights go to (model.bin)");
        var choice = CheckpointChoice.From(options, own);
        using var scratch = new ScratchDirectory(Name);
        var checkpoint = await choice.ResolveAsync(scratch.Path, cancellationToken).ConfigureAwait(false);
        var weightsFile = choice.WeightsFile(checkpoint);
        var bytes = await File.ReadAllBytesAsync(weightsFile, cancellationToken).ConfigureAwait(false);
        AtomicFile.Write(target, bytes);
        await output.WriteLineAsync($"Exported the {choice.WeightsOf(checkpoint)} weights of {checkpoint.Directory} (global step {checkpoint.Manifest.GlobalStep}) to {target} ({bytes.Length} bytes)").ConfigureAwait(false);
        return TrainerExitCodes.Completed;
    }
}
