using K8sTraining.Trainer.Options;

namespace K8sTraining.Trainer.Data;

/// <summary>Builds the splits named by the options: Fashion-MNIST from idx files or the deterministic synthetic set.</summary>
public static class DatasetLoader
{
    // Fashion-MNIST training-set statistics; normalising makes both models train faster.
    private const float Mean = 0.2860f;
    private const float Std = 0.3530f;

    public static DatasetSplits Load(TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Dataset switch
        {
            "fashion-mnist" => new DatasetSplits(
                LoadIdx(options.DataDirectory!, "train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
                LoadIdx(options.DataDirectory!, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")),
            _ => SyntheticDataset.Create(options.Samples),
        };
    }

    private static ImageDataset LoadIdx(string directory, string images, string labels)
    {
        var pixels = IdxReader.ReadFile(directory, images, out var imageDims);
        var classes = IdxReader.ReadFile(directory, labels, out var labelDims);
        if (imageDims.Length != 3 || imageDims[1] != ImageDataset.Height || imageDims[2] != ImageDataset.Width || labelDims[0] != imageDims[0])
        {
            throw new InvalidDataException($"{images}/{labels} in {directory} do not hold 28x28 images with one label each.");
        }
        var floats = new float[pixels.Length];
        for (var i = 0; i < pixels.Length; i++)
        {
            floats[i] = ((pixels[i] / 255f) - Mean) / Std;
        }
        return new ImageDataset(floats, classes.Select(c => (long)c).ToArray());
    }
}
