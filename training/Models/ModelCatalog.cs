using K8sTraining.Contract;
using K8sTraining.Training.Options;
using K8sTraining.Training.Tasks;
using static TorchSharp.torch;

namespace K8sTraining.Training.Models;

/// <summary>The built-in networks by name (<c>--model</c>), shaped for the training split's samples and classes.</summary>
public static class ModelCatalog
{
    /// <summary>
    /// The network <c>--model</c> names for the samples of <paramref name="train"/>: C x H x W from its sample shape,
    /// <c>--num-classes</c> (else the data's) outputs and, for a ResNet, the stem <c>--stem</c> resolves to. Throws
    /// <see cref="InvalidInputException"/> (exit 2) when the flags and the data disagree.
    /// </summary>
    public static nn.Module<Tensor, Tensor> Create(TrainerOptions options, ITrainingDataset train)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(train);
        var shape = ShapeOf(options, train);
        return Create(options.Model, shape, options.Stem, options.CnnChannels);
    }

    /// <summary>
    /// The network named <paramref name="model"/> for <paramref name="shape"/>; <paramref name="stem"/> applies to ResNets,
    /// <paramref name="cnnChannels"/> (null: not given, <see cref="Cnn.DefaultChannels"/>) to the cnn only.
    /// </summary>
    public static nn.Module<Tensor, Tensor> Create(string model, ModelShape shape, string stem = StemNames.Auto, int? cnnChannels = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var size = Math.Min(shape.Height, shape.Width);
        switch (model)
        {
            case ModelNames.Mlp:
                RequireNoStem(model, stem);
                RequireNoCnnChannels(model, cnnChannels);
                return new Mlp(shape);
            case ModelNames.Cnn:
                RequireNoStem(model, stem);
                if (size < Cnn.MinimumSize)
                {
                    throw new InvalidInputException($"--model {model}: the images are {shape.Height}x{shape.Width} pixels, smaller than the {Cnn.MinimumSize}x{Cnn.MinimumSize} its two 2x2 pools need; give --image-size {Cnn.MinimumSize} or more, or --model {ModelNames.Mlp}.");
                }
                if (cnnChannels is < 1 or > Cnn.MaximumChannels)
                {
                    throw new InvalidInputException($"--cnn-channels {cnnChannels}: out of range; give an integer from 1 to {Cnn.MaximumChannels} (the default is {Cnn.DefaultChannels}).");
                }
                return new Cnn(shape, cnnChannels ?? Cnn.DefaultChannels);
            case ModelNames.ResNet18 or ModelNames.ResNet34 or ModelNames.ResNet50:
                RequireNoCnnChannels(model, cnnChannels);
                return new ResNetClassifier(model, shape, ResolveStem(stem, shape.Height, shape.Width));
            default:
                throw new InvalidInputException($"--model: '{model}' is not a built-in model; allowed: {string.Join(", ", ModelNames.All)}.");
        }
    }

    /// <summary>
    /// The shape the model must have for <paramref name="train"/>: its channels and size, and <c>--num-classes</c> (at
    /// least the data's classes) or else the data's classes.
    /// </summary>
    public static ModelShape ShapeOf(TrainerOptions options, ITrainingDataset train)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(train);
        var sample = train.SampleShape;
        if (sample.Count != 3 || sample.Any(d => d < 1 || d > int.MaxValue))
        {
            throw new InvalidInputException($"--model {options.Model}: the data set's samples are [{string.Join(", ", sample)}], not images of [channels, height, width]; the built-in models read C x H x W images (write a TrainingTask with your own model for other inputs).");
        }
        var (channels, height, width) = ((int)sample[0], (int)sample[1], (int)sample[2]);
        if (options.InChannels is { } inChannels && inChannels != channels)
        {
            throw new InvalidInputException($"--in-channels {inChannels}: the {options.Dataset} data set gives {channels}-channel images; give --in-channels {channels} or leave it out.");
        }
        if (options.NumClasses is { } numClasses && numClasses < train.Classes)
        {
            throw new InvalidInputException($"--num-classes {numClasses}: the training data has {train.Classes} classes (labels 0 to {train.Classes - 1}), more than the model would predict; give --num-classes {train.Classes} or more, or leave it out.");
        }
        return new ModelShape(channels, height, width, options.NumClasses ?? train.Classes);
    }

    /// <summary>
    /// The stem <c>--stem</c> means for a <paramref name="height"/> x <paramref name="width"/> input: auto is small up to
    /// 64 pixels and ImageNet's above. Throws <see cref="InvalidInputException"/> for an image too small for the stem.
    /// </summary>
    public static ResNetStem ResolveStem(string stem, int height, int width)
    {
        var resolved = stem switch
        {
            StemNames.Auto => height <= SmallStemMaximumSize && width <= SmallStemMaximumSize ? ResNetStem.Small : ResNetStem.ImageNet,
            StemNames.ImageNet => ResNetStem.ImageNet,
            StemNames.Small => ResNetStem.Small,
            _ => throw new InvalidInputException($"--stem: '{stem}' is not allowed; allowed: {string.Join(", ", StemNames.All)}."),
        };
        var minimum = ResNetClassifier.MinimumSize(resolved);
        if (Math.Min(height, width) < minimum)
        {
            var fix = resolved == ResNetStem.ImageNet
                ? $"give --stem {StemNames.Small} (or {StemNames.Auto}) for images this small, or --image-size {minimum} or more"
                : $"give --image-size {minimum} or more";
            throw new InvalidInputException($"--stem {stem}: the images are {height}x{width} pixels, smaller than the {minimum}x{minimum} the {Describe(resolved)} stem needs; {fix}.");
        }
        return resolved;
    }

    /// <summary>Inputs up to this height and width get the small stem under <c>--stem auto</c>.</summary>
    public const int SmallStemMaximumSize = 64;

    private static string Describe(ResNetStem stem) => stem == ResNetStem.ImageNet ? StemNames.ImageNet : StemNames.Small;

    private static void RequireNoCnnChannels(string model, int? cnnChannels)
    {
        if (cnnChannels is { } channels)
        {
            throw new InvalidInputException($"--cnn-channels {channels}: it applies to --model {ModelNames.Cnn} only, not --model {model}; leave --cnn-channels out, or give --model {ModelNames.Cnn}.");
        }
    }

    private static void RequireNoStem(string model, string stem)
    {
        if (stem != StemNames.Auto)
        {
            throw new InvalidInputException($"--stem {stem}: only the ResNet models have a stem, not --model {model}; leave --stem out (or {StemNames.Auto}), or give --model {ModelNames.ResNet18}.");
        }
    }
}
