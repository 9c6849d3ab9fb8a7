using System.Globalization;
using System.Text;
using K8sTraining.Contract;
using K8sTraining.Training.Loop;
using K8sTraining.Training.Options;
using K8sTraining.Training.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace K8sTraining.Training.Commands;

/// <summary>
/// <c>predict</c>: a checkpoint's network on PNG and JPEG files, transformed as the test split is; writes a CSV of each
/// file's predicted class and its probability for every class.
/// </summary>
public sealed class PredictCommand : ITrainerCommand
{
    public const string DefaultOutput = "predictions.csv";

    private const int BatchSize = 64;

    public string Name => "predict";

    public string Synopsis => "--input DIR|FILE [--checkpoint best] (--checkpoint-dir DIR | --checkpoint-uri s3://bucket/prefix) [--output FILE] [train data and model flags]";

    public string Summary => "Predicts the class of PNG/JPEG images with a checkpoint's weights: a CSV of classes and probabilities.";

    public IReadOnlyList<(string Flag, string Value, string Default, string Help)> Flags { get; } =
    [
        ("--input", "DIR|FILE", "", "an image, or a directory searched recursively for *.png, *.jpg, *.jpeg"),
        .. CheckpointChoice.Flags,
        ("--output", "FILE", DefaultOutput, "the CSV: file, predicted class, then one probability column per class"),
    ];

    public async Task<int> RunAsync(TrainerOptions options, IReadOnlyDictionary<string, string> own, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(own);
        ArgumentNullException.ThrowIfNull(output);
        var input = own.GetValueOrDefault("--input") ?? throw new OptionsException("--input is required: an image file or a directory of PNG/JPEG images");
        var choice = CheckpointChoice.From(options, own);
        var files = ImageInputs.Files(input);
        var csvPath = options.Output ?? DefaultOutput;
        using var scratch = new ScratchDirectory(Name);
        var checkpoint = await choice.ResolveAsync(scratch.Path, cancellationToken).ConfigureAwait(false);
        var weightsFile = choice.WeightsFile(checkpoint);
        using var built = CommandModel.Build(options, split: false);
        built.LoadWeights(weightsFile, options);
        var images = ImageInputs.Dataset(files, ImageInputs.Transform(built.Data, options), built.Classes);
        var probabilities = Predict(built.Model, images, options, cancellationToken);
        AtomicFile.WriteText(csvPath, Csv(files, probabilities, built.ClassNames));
        await output.WriteLineAsync($"Predicted {files.Count} image(s) with {checkpoint.Directory} ({choice.WeightsOf(checkpoint)} weights); wrote {csvPath}").ConfigureAwait(false);
        return TrainerExitCodes.Completed;
    }

    /// <summary>Each image's softmax probabilities, in file order, in eval mode without gradients.</summary>
    public static float[][] Predict(nn.Module<Tensor, Tensor> model, ITrainingDataset images, TrainerOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(options);
        var result = new List<float[]>(images.Count);
        model.eval();
        using var loader = new BatchLoader(images, null, BatchSize, 0, 0, options.Seed, train: false, options.LoaderWorkers, 1);
        using (torch.no_grad())
        {
            for (var step = 0; step < loader.Steps; step++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var batch = loader.Next();
                using (var scope = NewDisposeScope())
                {
                    var (input, _) = batch.ToTensors(images.SampleShape);
                    var p = nn.functional.softmax(model.forward(input), 1).data<float>().ToArray();
                    var classes = p.Length / batch.Count;
                    for (var k = 0; k < batch.Count; k++)
                    {
                        result.Add(p.AsSpan(k * classes, classes).ToArray());
                    }
                }
                loader.Return(batch);
            }
        }
        return [.. result];
    }

    /// <summary>file,predicted,&lt;class names&gt;: one row per file, the predicted class by name, then the probabilities.</summary>
    public static string Csv(IReadOnlyList<string> files, IReadOnlyList<float[]> probabilities, IReadOnlyList<string> classNames)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(probabilities);
        ArgumentNullException.ThrowIfNull(classNames);
        var csv = new StringBuilder("file,predicted");
        foreach (var name in classNames)
        {
            csv.Append(',').Append(Field(name));
        }
        csv.Append('\n');
        for (var i = 0; i < files.Count; i++)
        {
            var p = probabilities[i];
            var best = 0;
            for (var c = 1; c < p.Length; c++)
            {
                if (p[c] > p[best])
                {
                    best = c;
                }
            }
            csv.Append(Field(files[i])).Append(',').Append(Field(best < classNames.Count ? classNames[best] : best.ToString(CultureInfo.InvariantCulture)));
            for (var c = 0; c < classNames.Count; c++)
            {
                csv.Append(',').Append(c < p.Length ? p[c].ToString("G6", CultureInfo.InvariantCulture) : "0");
            }
            csv.Append('\n');
        }
        return csv.ToString();
    }

    private static string Field(string value) =>
        value.AsSpan().IndexOfAny(",\"\n\r") >= 0 ? $"\"{value.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : value;
}
