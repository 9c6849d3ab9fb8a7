using K8sTraining.Contract;
using K8sTraining.Training.Options;
using K8sTraining.Training.Tasks;

namespace K8sTraining.Training.Data;

/// <summary>Builds the splits named by the options: Fashion-MNIST from idx files or the deterministic synthetic set.</summary>
public static class DatasetLoader
{
    // Fashion-MNIST training-set statistics; normalising makes both models train faster.
    private const float Mean = 0.2860f;
    private const float Std = 0.3530f;

    /// <summary>The statistics Fashion-MNIST is normalised by (one gray channel), for images from elsewhere (predict).</summary>
    public static ChannelStatistics FashionMnistStatistics => ChannelStatistics.Uniform(1, Mean, Std);

    public static DatasetSplits Load(TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Dataset switch
        {
            DatasetNames.FashionMnist => new DatasetSplits(
                Normalized(ReadIdx(options.DataDirectory!, "train-images-idx3-ubyte", "train-labels-idx1-ubyte")),
                Normalized(ReadIdx(options.DataDirectory!, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"))),
            DatasetNames.Synthetic => SyntheticDataset.Create(options.Samples),
            _ => throw new InvalidInputException($"--dataset {options.Dataset} is not an in-memory 28x28 data set ({DatasetNames.FashionMnist} or {DatasetNames.Synthetic}); load it with {nameof(DatasetCatalog)}.{nameof(DatasetCatalog.Load)}."),
        };
    }

    /// <summary>Fashion-MNIST's class names, label by label.</summary>
    public static readonly IReadOnlyList<string> FashionMnistClassNames =
        ["t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"];

    /// <summary>
    /// Fashion-MNIST or synthetic as a task's splits. Without --image-size, --in-channels, --random-crop-padding,
    /// --horizontal-flip (and, for Fashion-MNIST, --normalize false) these are the in-memory
    /// <see cref="ImageDataset"/>s of <see cref="Load"/>, float for float; with any of them, the same images go through
    /// <see cref="ImageTransform"/>. Fashion-MNIST keeps its published statistics (0.2860, 0.3530) either way; the
    /// synthetic set is never normalised.
    /// </summary>
    public static TrainingData LoadData(TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var fashion = options.Dataset == DatasetNames.FashionMnist;
        var transformed = options.ImageSize is not null || options.InChannels is not null || options.RandomCropPadding > 0 || options.HorizontalFlip || (fashion && !options.Normalize);
        if (!transformed)
        {
            var splits = Load(options);
            return new TrainingData(splits.Train, splits.Test);
        }
        var channels = options.InChannels ?? 1;
        var transform = new ImageTransform
        {
            Channels = channels,
            Height = options.ImageSize ?? ImageDataset.Height,
            Width = options.ImageSize ?? ImageDataset.Width,
            CropPadding = options.RandomCropPadding,
            HorizontalFlip = options.HorizontalFlip,
            Normalization = fashion && options.Normalize ? ChannelStatistics.Uniform(channels, Mean, Std) : null,
        };
        if (fashion)
        {
            var train = ReadIdx(options.DataDirectory!, "train-images-idx3-ubyte", "train-labels-idx1-ubyte");
            var test = ReadIdx(options.DataDirectory!, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte");
            return new TrainingData(
                new TransformedImageDataset(new BytePixelSource(train.Pixels, train.Labels, 1, ImageDataset.Height, ImageDataset.Width), transform, ImageDataset.Classes, FashionMnistClassNames),
                new TransformedImageDataset(new BytePixelSource(test.Pixels, test.Labels, 1, ImageDataset.Height, ImageDataset.Width), transform, ImageDataset.Classes, FashionMnistClassNames));
        }
        var synthetic = SyntheticDataset.Create(options.Samples);
        TransformedImageDataset Wrap(ImageDataset d) =>
            new(new FloatPixelSource(d.Pixels, d.Labels, 1, ImageDataset.Height, ImageDataset.Width), transform, ImageDataset.Classes);
        return new TrainingData(Wrap(synthetic.Train), Wrap(synthetic.Test));
    }

    /// <summary>The four files of Fashion-MNIST, as published (each may also be stored gunzipped).</summary>
    public static readonly IReadOnlyList<string> FashionMnistFiles =
        ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

    private const string Fix = $"Download the four Fashion-MNIST files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) again into that directory, or point --data ({TrainerEnvironment.Data}) at a directory that holds them";

    private static ImageDataset Normalized((byte[] Pixels, long[] Labels) idx)
    {
        var floats = new float[idx.Pixels.Length];
        for (var i = 0; i < idx.Pixels.Length; i++)
        {
            floats[i] = ((idx.Pixels[i] / 255f) - Mean) / Std;
        }
        return new ImageDataset(floats, idx.Labels, FashionMnistClassNames);
    }

    private static (byte[] Pixels, long[] Labels) ReadIdx(string directory, string images, string labels)
    {
        var pixels = Read(directory, images, out var imageDims);
        var classes = Read(directory, labels, out var labelDims);
        if (imageDims.Length != 3 || imageDims[1] != ImageDataset.Height || imageDims[2] != ImageDataset.Width || labelDims.Length != 1 || labelDims[0] != imageDims[0])
        {
            throw new InvalidInputException($"{images} and {labels} in --data {directory} do not hold 28x28 images with one label each (dimensions {string.Join("x", imageDims)} and {string.Join("x", labelDims)}). {Fix}.");
        }
        return (pixels, classes.Select(c => (long)c).ToArray());
    }

    // A missing, truncated or garbled dataset file is the user's to fix (exit 2): say which file, what is wrong, what to do.
    private static byte[] Read(string directory, string baseName, out int[] dimensions)
    {
        try
        {
            return IdxReader.ReadFile(directory, baseName, out dimensions);
        }
        catch (FileNotFoundException e)
        {
            var present = FashionMnistFiles.Where(f => File.Exists(Path.Combine(directory, f)) || File.Exists(Path.Combine(directory, f + ".gz"))).ToList();
            var missing = FashionMnistFiles.Except(present).Select(f => f + "(.gz)");
            var context = present.Count == 0
                ? $"--data {directory} holds none of the Fashion-MNIST files"
                : $"--data {directory} holds {string.Join(", ", present)} but not {string.Join(", ", missing)}";
            throw new InvalidInputException($"{e.Message} {context}. {Fix}.", e);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidInputException($"{e.Message.TrimEnd('.')}. {Fix}.", e);
        }
    }
}
