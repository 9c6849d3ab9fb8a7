using System.Globalization;
using K8sTraining.Contract;
using K8sTraining.Training.Options;
using K8sTraining.Training.Tasks;

namespace K8sTraining.Training.Data;

/// <summary>
/// <c>--dataset csv-images --data FILE</c>: the FER2013 layout, a header naming the columns <c>emotion</c>,
/// <c>pixels</c> and <c>Usage</c> (any order, any case), then one image per line: a class label, the pixels of a
/// square grayscale image as space-separated numbers 0-255 (row by row), and Training, PublicTest or PrivateTest.
/// Training rows are the training split; PrivateTest rows the test split and PublicTest rows the validation split,
/// or, with no PrivateTest rows, PublicTest is the test split and there is no validation split. The image size is the
/// first row's (or --image-size, which resizes), the class count the largest label + 1 (or --num-classes), the
/// channels 1 (or --in-channels 3, which replicates the gray channel). Parsed by hand (no field holds a comma; fields
/// may be double-quoted). With --normalize, the statistics are the training split's (at most
/// <see cref="ChannelStatistics.MaxImages"/> evenly strided images).
/// </summary>
public static class CsvImagesLoader
{
    public const string LabelColumn = "emotion";
    public const string PixelsColumn = "pixels";
    public const string UsageColumn = "Usage";
    public const string TrainingUsage = "Training";
    public const string PublicTestUsage = "PublicTest";
    public const string PrivateTestUsage = "PrivateTest";

    private const string Layout = $"the FER2013 layout: a header line '{LabelColumn},{PixelsColumn},{UsageColumn}', then one line per image: a class label 0, 1, ..., the pixels of a square grayscale image as space-separated numbers 0-255, and {TrainingUsage}, {PublicTestUsage} or {PrivateTestUsage}";

    public static TrainingData Load(TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var path = options.DataDirectory ?? throw new InvalidInputException($"--dataset {DatasetNames.CsvImages} needs --data ({TrainerEnvironment.Data}): a CSV file in {Layout}.");
        if (!File.Exists(path))
        {
            throw new InvalidInputException($"--data {path} is not a file. For --dataset {DatasetNames.CsvImages} point --data ({TrainerEnvironment.Data}) at a CSV file in {Layout}.");
        }
        using var reader = new StreamReader(path);
        return Parse(reader, path, options);
    }

    /// <summary>Reads the CSV text of <paramref name="reader"/>; <paramref name="path"/> names it in errors.</summary>
    public static TrainingData Parse(TextReader reader, string path, TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(options);
        var header = reader.ReadLine();
        if (string.IsNullOrWhiteSpace(header))
        {
            throw new InvalidInputException($"{path} is empty. --data must be a CSV file in {Layout}.");
        }
        var columns = Fields(header);
        int Column(string name)
        {
            var i = Array.FindIndex(columns, c => string.Equals(c, name, StringComparison.OrdinalIgnoreCase));
            return i >= 0 ? i : throw new InvalidInputException($"{path} line 1: the header '{Shorten(header)}' has no '{name}' column. The file must be in {Layout}.");
        }
        var (labelAt, pixelsAt, usageAt) = (Column(LabelColumn), Column(PixelsColumn), Column(UsageColumn));

        var splits = new Dictionary<string, (List<byte> Pixels, List<long> Labels)>(StringComparer.Ordinal)
        {
            [TrainingUsage] = ([], []),
            [PublicTestUsage] = ([], []),
            [PrivateTestUsage] = ([], []),
        };
        var side = 0;
        var pixelCount = 0;
        var firstLine = 0;
        var maxLabel = -1L;
        var lineNumber = 1;
        var row = Array.Empty<byte>();
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (line.Length == 0)
            {
                continue;
            }
            var fields = Fields(line);
            if (fields.Length != columns.Length)
            {
                throw new InvalidInputException($"{path} line {lineNumber}: {fields.Length} fields where the header has {columns.Length} ({string.Join(",", columns)}). Fix or remove that line.");
            }
            if (!long.TryParse(fields[labelAt], NumberStyles.None, CultureInfo.InvariantCulture, out var label) || label > int.MaxValue)
            {
                throw new InvalidInputException($"{path} line {lineNumber}: the label '{Shorten(fields[labelAt])}' is not a non-negative integer. Labels are class numbers 0, 1, 2, ...; fix that line.");
            }
            if (options.NumClasses is { } classesGiven && label >= classesGiven)
            {
                throw new InvalidInputException($"{path} line {lineNumber}: the label {label} is not below --num-classes {classesGiven}. Raise --num-classes to at least {label + 1}, or fix that line.");
            }
            var usage = fields[usageAt];
            var split = splits.Keys.FirstOrDefault(k => string.Equals(k, usage, StringComparison.OrdinalIgnoreCase))
                ?? throw new InvalidInputException($"{path} line {lineNumber}: the {UsageColumn} '{Shorten(usage)}' is none of {TrainingUsage}, {PublicTestUsage}, {PrivateTestUsage}. Fix that line.");
            if (pixelCount == 0)
            {
                pixelCount = CountPixels(fields[pixelsAt]);
                side = (int)Math.Round(Math.Sqrt(pixelCount));
                if (pixelCount == 0 || side * side != pixelCount)
                {
                    throw new InvalidInputException($"{path} line {lineNumber}: {pixelCount} pixels are not a square image (the first row sets the image size, and 48x48 = 2304 pixels, for example). Fix that line.");
                }
                firstLine = lineNumber;
                row = new byte[pixelCount];
            }
            ParsePixels(fields[pixelsAt], row, path, lineNumber, side, firstLine);
            splits[split].Pixels.AddRange(row);
            splits[split].Labels.Add(label);
            maxLabel = Math.Max(maxLabel, label);
        }
        if (splits[TrainingUsage].Labels.Count == 0)
        {
            throw new InvalidInputException(lineNumber == 1
                ? $"{path} has a header but no rows. --data must be a CSV file in {Layout}."
                : $"{path} has no {TrainingUsage} rows, so there is nothing to train on. Mark the training images' {UsageColumn} as {TrainingUsage}.");
        }
        var hasPrivate = splits[PrivateTestUsage].Labels.Count > 0;
        var hasPublic = splits[PublicTestUsage].Labels.Count > 0;
        if (!hasPrivate && !hasPublic)
        {
            throw new InvalidInputException($"{path} has no {PrivateTestUsage} or {PublicTestUsage} rows, so there is nothing to test on. Mark some images' {UsageColumn} as {PrivateTestUsage} (test) or {PublicTestUsage} (validation, or test when there is no {PrivateTestUsage}).");
        }

        var classes = options.NumClasses ?? (int)(maxLabel + 1);
        var size = options.ImageSize ?? side;
        BytePixelSource Source(string usage) => new([.. splits[usage].Pixels], [.. splits[usage].Labels], 1, side, side);
        var train = Source(TrainingUsage);
        var transform = new ImageTransform
        {
            Channels = options.InChannels ?? 1,
            Height = size,
            Width = size,
            CropPadding = options.RandomCropPadding,
            HorizontalFlip = options.HorizontalFlip,
        };
        if (options.Normalize)
        {
            transform = transform with { Normalization = ChannelStatistics.Compute(train, transform) };
        }
        TransformedImageDataset Dataset(BytePixelSource source) => new(source, transform, classes);
        return hasPrivate
            ? new TrainingData(Dataset(train), Dataset(Source(PrivateTestUsage)), hasPublic ? Dataset(Source(PublicTestUsage)) : null)
            : new TrainingData(Dataset(train), Dataset(Source(PublicTestUsage)));
    }

    private static string[] Fields(string line)
    {
        var fields = line.Split(',');
        for (var i = 0; i < fields.Length; i++)
        {
            var f = fields[i].Trim();
            fields[i] = f.Length >= 2 && f[0] == '"' && f[^1] == '"' ? f[1..^1].Trim() : f;
        }
        return fields;
    }

    private static int CountPixels(string pixels) =>
        pixels.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;

    private static void ParsePixels(string text, byte[] row, string path, int lineNumber, int side, int firstLine)
    {
        var span = text.AsSpan();
        var count = 0;
        foreach (var range in span.Split(' '))
        {
            var token = span[range];
            if (token.IsEmpty)
            {
                continue;
            }
            if (count < row.Length)
            {
                if (!int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value > 255)
                {
                    throw new InvalidInputException($"{path} line {lineNumber}: pixel {count + 1} is '{Shorten(token.ToString())}', not a whole number from 0 to 255. Fix that line.");
                }
                row[count] = (byte)value;
            }
            count++;
        }
        if (count != row.Length)
        {
            throw new InvalidInputException($"{path} line {lineNumber}: {count} pixels where every row needs {row.Length} ({side}x{side}, as the first row, line {firstLine}, has). Fix or remove that line.");
        }
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "...";
}
