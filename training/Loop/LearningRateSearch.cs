using K8sTraining.Training.LrFinder;
using K8sTraining.Training.Options;
using K8sTraining.Training.Plots;
using K8sTraining.Training.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace K8sTraining.Training.Loop;

/// <summary>
/// <c>--lr auto</c>: before the first step of a fresh run, an LR finder sweep on a copy of the freshly initialised model
/// chooses the learning rate (OneCycle's maximum, or the base of any other schedule). The choice goes into the state,
/// so every checkpoint carries it and a resumed run never searches again. The sweep's CSV and PNG are written to
/// <c>&lt;checkpoint-dir&gt;/lr-finder/</c>.
/// </summary>
public static class LearningRateSearch
{
    /// <summary>The folder, inside the checkpoint directory, that holds lr-finder.csv and lr-finder.png.</summary>
    public const string FolderName = "lr-finder";

    public static double Choose(TrainingTask task, TrainingData data, nn.Module<Tensor, Tensor> model, LossFunction loss, TrainerOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        LrFinderResult result;
        // The copy is built under a saved random state (building draws initial weights), then gets the model's weights.
        using (var randomState = torch.random.get_rng_state())
        {
            using var copy = task.CreateModel(data);
            torch.random.set_rng_state(randomState);
            copy.load_state_dict(model.state_dict());
            var copied = copy.named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
            foreach (var (name, parameter) in model.named_parameters())
            {
                copied[name].requires_grad = parameter.requires_grad;
            }
            result = LrFinderRunner.Run(copy, data.Train, loss, options, cancellationToken);
        }
        if (options.CheckpointDirectory is { } directory)
        {
            LrFinderReport.Write(Path.Combine(directory, FolderName), result.Points, result.Suggestion);
        }
        return result.Suggestion ?? throw new InvalidInputException(
            $"--lr auto: the LR finder's loss never fell over {result.Points.Count} steps from {options.LrFindStart} to {options.LrFindEnd}; " +
            "give --lr explicitly, or widen the sweep (--lr-find-start lower, --lr-find-steps more)");
    }
}
