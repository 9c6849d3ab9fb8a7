using K8sTraining.Training.Loop;
using K8sTraining.Training.Options;
using K8sTraining.Training.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace K8sTraining.Training.Commands;

/// <summary>
/// The data, network and loss a command works with, built exactly as <c>train</c> builds them from the same flags
/// (<see cref="BuiltInTask"/>, the seed set before the network is made, the default loss), so the weights of a
/// checkpoint fit and an LR sweep starts where training would.
/// </summary>
public sealed class CommandModel : IDisposable
{
    private CommandModel(TrainingData data, nn.Module<Tensor, Tensor> model, int classes, LossFunction loss)
    {
        Data = data;
        Model = model;
        Classes = classes;
        Loss = loss;
    }

    /// <summary>The splits; with <see cref="Build"/>'s <c>split</c>, the training and validation splits training uses.</summary>
    public TrainingData Data { get; }

    public nn.Module<Tensor, Tensor> Model { get; }

    public int Classes { get; }

    public LossFunction Loss { get; }

    /// <summary>The class names, index by index (the data set's, else the indices).</summary>
    public IReadOnlyList<string> ClassNames => Enumerable.Range(0, Classes)
        .Select(c => Data.Train.ClassNames is { } names && c < names.Count ? names[c] : c.ToString(System.Globalization.CultureInfo.InvariantCulture))
        .ToList();

    /// <summary>
    /// Loads the data and builds the network after seeding torch with <c>--seed</c>. With <paramref name="split"/>, the
    /// training split is the one training uses (<c>--max-samples-per-class</c>, <c>--val-fraction</c>).
    /// </summary>
    public static CommandModel Build(TrainerOptions options, bool split)
    {
        ArgumentNullException.ThrowIfNull(options);
        var task = BuiltInTask.From(options);
        var data = task.LoadData();
        if (split && DataSplit.Choose(data.Train, options.Seed, options.MaxSamplesPerClass, data.Validation is null ? options.ValFraction : 0) is { } chosen)
        {
            var validation = chosen.Validation is { } v ? new SubsetDataset(data.Train, v) : data.Validation;
            data = new TrainingData(new SubsetDataset(data.Train, chosen.Train), data.Test, validation);
        }
        torch.manual_seed(options.Seed);
        var model = task.CreateModel(data);
        var classes = options.NumClasses ?? data.Train.Classes;
        var loss = task.CreateLoss?.Invoke(data.Train) ?? DefaultLoss.Create(options, data.Train, classes);
        return new CommandModel(data, model, classes, loss);
    }

    /// <summary>Loads weights saved by model.save (model.bin, ema.bin); weights of another network are bad input.</summary>
    public void LoadWeights(string path, TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        try
        {
            using var reader = new BinaryReader(File.OpenRead(path));
            Model.load(reader);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidInputException($"{path} does not fit --model {options.Model} on --dataset {options.Dataset} ({e.Message.TrimEnd('.')}); give the model and data flags the run was trained with", e);
        }
        Model.eval();
    }

    public void Dispose() => Model.Dispose();
}
