using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;
using K8sTraining.Training.Commands;
using K8sTraining.Training.Loop;
using K8sTraining.Training.Options;
using Microsoft.Extensions.Logging;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace K8sTraining.Training.FineTuning;

/// <summary>
/// <c>--init-from</c>: before a fresh run's first step, loads the weights of another run's checkpoint (a local checkpoint
/// directory, or an s3:// prefix fetched read-only into a scratch directory with the job's own credentials) into the new
/// model by name and shape (<see cref="WeightMatching"/>); the others keep their fresh initialisation and are reported.
/// With <c>--init-optimizer true</c> also the optimizer state, when every trainable parameter matched. The source is
/// never written to. Bad input exits 2 with the fix (<see cref="InvalidInputException"/>).
/// </summary>
public sealed class FineTuneInitializer(TrainerOptions options, ITrainingObserver observer, ILogger logger)
{
    /// <summary>
    /// Loads the source into <paramref name="model"/> (and <paramref name="optimizer"/>) and returns what to record
    /// (state.json's initializedFrom, the termination message's lineage); null without --init-from, and when the run
    /// <paramref name="resumed"/> from a checkpoint of its own (the fine-tune is never repeated).
    /// </summary>
    public async Task<InitLineageReport?> ApplyAsync(bool resumed, nn.Module model, OptimizerHelper optimizer, IReadOnlyList<Parameter> trainable, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(trainable);
        if (options.InitFrom is not { } source)
        {
            return null;
        }
        if (resumed)
        {
            // The run's own checkpoint holds everything since the fine-tune began (its initializedFrom included).
            observer.OnMessage($"--init-from {source} not applied: the run resumes from a checkpoint of its own");
            return null;
        }
        using var scratch = new ScratchDirectory("init-from");
        var selection = CheckpointSelection.Parse(options.InitCheckpoint);
        if (selection.IsBest)
        {
            selection = selection.OrLatestWhenNoBest();
        }
        var checkpoint = await ResolveAsync(source, selection, scratch.Path, cancellationToken).ConfigureAwait(false);
        var step = checkpoint.Manifest.GlobalStep;
        var location = CheckpointLayout.IsRemote(source) ? CheckpointLayout.Location(source, step) : checkpoint.Directory;
        if (selection.IsBest && checkpoint.Manifest.Best is null)
        {
            observer.OnMessage($"--init-from {source}: the source kept no best checkpoint; starting from its newest, {location} (--init-checkpoint {CheckpointSelectors.Latest})");
        }
        var weightsFile = new CheckpointChoice(source, selection.IsBest ? CheckpointSelectors.Best : selection.Text, null).WeightsFile(checkpoint);

        var match = LoadWeights(model, weightsFile, source, location);
        var skipped = match.Skipped.Select(s => s.Name).ToList();
        var detail = match.Skipped.Count == 0 ? "none skipped" : "kept their fresh initialisation: " + string.Join(", ", match.Skipped.Select(s => $"{s.Name} ({s.Why})"));
        observer.OnMessage($"Initialised from {location} (global step {step}, {Path.GetFileName(weightsFile)}): loaded {match.Loaded.Count} of {match.Loaded.Count + match.Skipped.Count} weights and buffers; {detail}");
        if (options.InitOptimizer)
        {
            LoadOptimizer(model, optimizer, trainable, checkpoint, match, source);
            observer.OnMessage($"Initialised the optimizer state from {location} (--init-optimizer true)");
        }
        return new InitLineageReport(source, location, step, skipped);
    }

    private async Task<LocalCheckpoint> ResolveAsync(string source, CheckpointSelection selection, string scratch, CancellationToken cancellationToken)
    {
        try
        {
            return await CheckpointSelector.ResolveAsync(source, selection, scratch, Environment.GetEnvironmentVariable, logger, cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidInputException e)
        {
            throw new InvalidInputException($"--init-from {source} --init-checkpoint {options.InitCheckpoint}: {e.Message}", e);
        }
    }

    /// <summary>Copies every source tensor that matches into the model; exit 2 when no parameter matches (another architecture).</summary>
    private WeightMatch LoadWeights(nn.Module model, string weightsFile, string source, string location)
    {
        IReadOnlyList<SavedTensor> saved;
        try
        {
            saved = SavedWeights.Read(weightsFile);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidInputException($"--init-from {source}: {e.Message}; fine-tune from a checkpoint this trainer wrote", e);
        }
        var state = model.state_dict();
        var parameters = model.named_parameters().Select(p => p.name).ToHashSet(StringComparer.Ordinal);
        var targets = state.Select(kv => new TensorSignature(kv.Key, kv.Value.shape, kv.Value.dtype.ToString(), parameters.Contains(kv.Key))).ToList();
        var match = WeightMatching.Match(targets, [.. saved.Select(s => new TensorSignature(s.Name, s.Shape, s.Type.ToString()))]);
        if (match.LoadedParameters == 0)
        {
            var theirs = string.Join(", ", saved.Take(4).Select(s => $"{s.Name} {WeightMatching.Shape(s.Shape)}"));
            var ours = string.Join(", ", targets.Take(4).Select(t => $"{t.Name} {WeightMatching.Shape(t.Shape)}"));
            throw new InvalidInputException(
                $"--init-from {source}: no parameter of {location} fits --model {options.Model} (it holds {theirs}, ...; the model has {ours}, ...): fine-tune from a run of the same architecture (only the head may differ), or leave --init-from out");
        }
        var bytes = saved.ToDictionary(s => s.Name, s => s.Data, StringComparer.Ordinal);
        using (torch.no_grad())
        {
            foreach (var name in match.Loaded)
            {
                state[name].bytes = bytes[name];
            }
        }
        return match;
    }

    /// <summary>The source's optimizer state, only when every trainable parameter loaded (else exit 2: the state would not fit).</summary>
    private void LoadOptimizer(nn.Module model, OptimizerHelper optimizer, IReadOnlyList<Parameter> trainable, LocalCheckpoint checkpoint, WeightMatch match, string source)
    {
        var loaded = match.Loaded.ToHashSet(StringComparer.Ordinal);
        var names = model.named_parameters().Where(p => trainable.Any(t => ReferenceEquals(t, p.parameter))).Select(p => p.name).ToList();
        var missing = names.Where(n => !loaded.Contains(n)).ToList();
        if (missing.Count > 0)
        {
            throw new InvalidInputException(
                $"--init-optimizer true: the optimizer state of {source} fits only when every trainable parameter matched, and {string.Join(", ", missing)} did not; use --init-optimizer false (the weights only)");
        }
        var sourceState = CheckpointCodec.ReadState(checkpoint);
        if (sourceState.Configuration.Optimizer != options.Optimizer)
        {
            throw new InvalidInputException(
                $"--init-optimizer true: {source} was trained with --optimizer {sourceState.Configuration.Optimizer}, this run uses {options.Optimizer}; use --optimizer {sourceState.Configuration.Optimizer}, or --init-optimizer false");
        }
        try
        {
            using var reader = new BinaryReader(File.OpenRead(checkpoint.FilePath(CheckpointCodec.OptimizerFile)));
            optimizer.load_state_dict(reader);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidInputException(
                $"--init-optimizer true: the optimizer state of {checkpoint.Directory} does not fit this run's parameters ({e.Message.TrimEnd('.')}); train with the --freeze the source used, or use --init-optimizer false", e);
        }
    }
}
