using System.Globalization;
using K8sTraining.Trainer.Tests.Support;
using K8sTraining.Training.Data;

namespace K8sTraining.Benchmarks;

/// <summary>
/// Does loading keep up with training on image-folder data? A PNG class-folder tree generated from Fashion-MNIST
/// (10 classes, gray, 28 px) is decoded, resized to 32 and 64 px (3 channels), randomly cropped with padding 4, flipped
/// and normalised by the real loader (ImageFolderLoader, LoaderThroughput) with 1 and 2 workers; beside it, the
/// training samples/s of the networks that read such images (cnn and resnet18 at 32 px, small stem; one torch thread,
/// AdamW, in process). The ratio loader/training above 1 means the GPU-less step, at least, never waits for data.
/// Knobs: BENCH_LOADER_SAMPLES (default 3000).
/// </summary>
public sealed class LoaderBenchmark : IBenchmarkSuite
{
    public string Name => "loader";

    public Task RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var c = CultureInfo.InvariantCulture;
        var samples = int.TryParse(Environment.GetEnvironmentVariable("BENCH_LOADER_SAMPLES"), NumberStyles.Integer, c, out var s) && s > 0 ? s : 3000;
        var root = Path.Combine(context.ScratchDirectory, "images");
        GeneratedImageData.WriteImageFolder(root, trainPerClass: 60, testPerClass: 2);
        var training = new Dictionary<string, double>
        {
            ["cnn"] = StepHarness.Run("cnn", 64, 5, 60, 0, null).SamplesPerSecond,
            [BenchModels.ResNet18] = StepHarness.Run(BenchModels.ResNet18, 32, 2, 8, 0, null).SamplesPerSecond,
        };
        Console.WriteLine($"image-folder loading against training ({samples.ToString(c)} samples; loader: decode PNG, to 3 channels, resize, crop 4, flip, normalise):");
        Console.WriteLine("| image size | workers | loader samples/s | cnn samples/s (28 px) | loader / cnn | resnet18 samples/s (32 px) | loader / resnet18 |");
        foreach (var size in new[] { 32, 64 })
        {
            foreach (var workers in new[] { 1, 2 })
            {
                cancellationToken.ThrowIfCancellationRequested();
                var loader = LoaderThroughput.MeasureImageFolder(root, size, workers, samples);
                Console.WriteLine($"| {size.ToString(c)} | {workers.ToString(c)} | {loader.ToString("F0", c)} | {training["cnn"].ToString("F0", c)} | {(loader / training["cnn"]).ToString("F1", c)} | {training[BenchModels.ResNet18].ToString("F1", c)} | {(loader / training[BenchModels.ResNet18]).ToString("F0", c)} |");
            }
        }
        return Task.CompletedTask;
    }
}
