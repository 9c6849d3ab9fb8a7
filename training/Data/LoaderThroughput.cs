using System.Diagnostics;
using K8sTraining.Training.Tasks;

namespace K8sTraining.Training.Data;

/// <summary>How many samples per second a data set's Fill (decode and transforms) delivers on N threads.</summary>
public static class LoaderThroughput
{
    /// <summary>
    /// Fills <paramref name="samples"/> training samples (indices 0, 1, ... wrapping around the data set, augmentation
    /// on, epoch 0) on <paramref name="workers"/> threads, each taking the next index from a shared counter into its
    /// own buffer, after a warm-up of one sample per worker; returns samples per second of wall time.
    /// </summary>
    public static double Measure(ITrainingDataset dataset, int workers, int samples, long seed = 1)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(workers);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(samples);
        var length = (int)dataset.SampleShape.Aggregate(1L, (a, b) => a * b);
        void Fill(int i, float[] buffer)
        {
            var index = i % dataset.Count;
            dataset.Fill(index, buffer, new SampleContext(true, new SampleRandom(seed, 0, index)));
        }
        var warm = new float[length];
        for (var i = 0; i < workers; i++)
        {
            Fill(i, warm);
        }
        var next = -1;
        var watch = Stopwatch.StartNew();
        var threads = Enumerable.Range(0, workers).Select(_ => new Thread(() =>
        {
            var buffer = new float[length];
            int i;
            while ((i = Interlocked.Increment(ref next)) < samples)
            {
                Fill(i, buffer);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        return samples / watch.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// Loader samples/s of an image-folder tree (<paramref name="root"/>/train/&lt;class&gt;/...) at
    /// <paramref name="imageSize"/> px with <paramref name="workers"/> threads, with the given augmentation; what
    /// <c>make bench</c> sets beside the training samples/s.
    /// </summary>
    public static double MeasureImageFolder(string root, int imageSize, int workers, int samples, int cropPadding = 4, bool horizontalFlip = true)
    {
        var options = Options.OptionsParser.Parse(
            ["--dataset", K8sTraining.Contract.DatasetNames.ImageFolder, "--data", root, "--image-size", imageSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
             "--random-crop-padding", cropPadding.ToString(System.Globalization.CultureInfo.InvariantCulture), "--horizontal-flip", horizontalFlip ? "true" : "false"],
            _ => null);
        return Measure(ImageFolderLoader.Load(options).Train, workers, samples);
    }
}
