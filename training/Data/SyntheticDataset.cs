namespace K8sTraining.Training.Data;

/// <summary>
/// A generated, learnable set for fast tests: ten fixed class prototypes plus Gaussian noise. The data never depends on
/// --seed (only on the sample count), so a different seed changes the training, not the data.
/// </summary>
public static class SyntheticDataset
{
    private const ulong DataSeed = 0x5EED_DA7A;

    public static DatasetSplits Create(int trainSamples)
    {
        var rng = new SplitMix64(DataSeed);
        var prototypes = new float[ImageDataset.Classes * ImageDataset.PixelsPerImage];
        for (var i = 0; i < prototypes.Length; i++)
        {
            prototypes[i] = (float)rng.NextGaussian();
        }
        var train = Generate(prototypes, trainSamples, DataSeed + 1);
        var test = Generate(prototypes, Math.Max(trainSamples / 4, 100), DataSeed + 2);
        return new DatasetSplits(train, test);
    }

    private static ImageDataset Generate(float[] prototypes, int count, ulong seed)
    {
        var rng = new SplitMix64(seed);
        var pixels = new float[count * ImageDataset.PixelsPerImage];
        var labels = new long[count];
        for (var n = 0; n < count; n++)
        {
            var label = rng.NextInt(ImageDataset.Classes);
            labels[n] = label;
            for (var p = 0; p < ImageDataset.PixelsPerImage; p++)
            {
                pixels[(n * ImageDataset.PixelsPerImage) + p] = (0.08f * prototypes[(label * ImageDataset.PixelsPerImage) + p]) + (float)rng.NextGaussian();
            }
        }
        return new ImageDataset(pixels, labels);
    }
}
