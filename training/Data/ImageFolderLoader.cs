using K8sTraining.Contract;
using K8sTraining.Training.Options;
using K8sTraining.Training.Tasks;

namespace K8sTraining.Training.Data;

/// <summary>
/// <c>--dataset image-folder --data DIR</c>: PNG and JPEG files in class folders, <c>DIR/train/&lt;class&gt;/</c> and
/// optionally <c>DIR/val/&lt;class&gt;/</c> and <c>DIR/test/&lt;class&gt;/</c> (files in nested folders count for
/// their class folder). The classes are the folder names of train/ in ordinal order; val/ and test/ use the same
/// names (a class may be missing there, an unknown one is an error). With no test/, val/ is the test split. The file
/// list and labels are read at load time; the pixels are decoded per sample, in <see cref="ITrainingDataset.Fill"/>.
/// Every image is resized to --image-size, else to the size of the first training image (first class, first file in
/// ordinal order); --in-channels is 3 (RGB) unless given. With --normalize, the per-channel statistics are those of
/// the training split (at most <see cref="ChannelStatistics.MaxImages"/> evenly strided images).
/// </summary>
public static class ImageFolderLoader
{
    public const string TrainFolder = "train";
    public const string ValidationFolder = "val";
    public const string TestFolder = "test";

    public static TrainingData Load(TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var root = options.DataDirectory ?? throw new InvalidInputException($"--dataset {DatasetNames.ImageFolder} needs --data ({TrainerEnvironment.Data}): a directory with train/<class>/ image folders.");
        if (!Directory.Exists(root))
        {
            throw new InvalidInputException($"--data {root} is not a directory. For --dataset {DatasetNames.ImageFolder} point --data ({TrainerEnvironment.Data}) at a directory holding train/<class>/ folders of PNG or JPEG images.");
        }
        var trainDir = Path.Combine(root, TrainFolder);
        if (!Directory.Exists(trainDir))
        {
            throw new InvalidInputException($"--data {root} has no {TrainFolder}/ folder. Put the training images in {trainDir}/<class>/ (one folder per class), and the test images in {Path.Combine(root, TestFolder)}/<class>/.");
        }
        var classNames = Directory.GetDirectories(trainDir).Select(d => Path.GetFileName(d)!).Order(StringComparer.Ordinal).ToArray();
        if (classNames.Length == 0)
        {
            throw new InvalidInputException($"{trainDir} holds no class folders. Put each class's images in a folder of its own: {trainDir}/<class>/*.png.");
        }
        if (options.NumClasses is { } n && n < classNames.Length)
        {
            throw new InvalidInputException($"--num-classes {n} is less than the {classNames.Length} class folders in {trainDir} ({string.Join(", ", classNames)}). Drop --num-classes or set it to at least {classNames.Length}.");
        }
        var classes = options.NumClasses ?? classNames.Length;
        var names = classNames.Concat(Enumerable.Range(classNames.Length, classes - classNames.Length).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))).ToArray();

        var train = Scan(trainDir, classNames);
        var valDir = Path.Combine(root, ValidationFolder);
        var testDir = Path.Combine(root, TestFolder);
        var validation = Directory.Exists(valDir) ? Scan(valDir, classNames) : null;
        var test = Directory.Exists(testDir) ? Scan(testDir, classNames) : null;
        if (test is null)
        {
            (test, validation) = (validation, null);
        }
        if (test is null)
        {
            throw new InvalidInputException($"--data {root} has neither a {TestFolder}/ nor a {ValidationFolder}/ folder, so there is nothing to test on. Add {testDir}/<class>/ (or {valDir}/<class>/) with images of the classes in {trainDir}.");
        }

        var (height, width) = options.ImageSize is { } size ? (size, size) : ImageFileSource.Identify(train.Files[0]);
        var transform = new ImageTransform
        {
            Channels = options.InChannels ?? 3,
            Height = height,
            Width = width,
            CropPadding = options.RandomCropPadding,
            HorizontalFlip = options.HorizontalFlip,
        };
        if (options.Normalize)
        {
            transform = transform with { Normalization = ChannelStatistics.Compute(train, transform) };
        }
        return new TrainingData(
            new TransformedImageDataset(train, transform, classes, names),
            new TransformedImageDataset(test, transform, classes, names),
            validation is null ? null : new TransformedImageDataset(validation, transform, classes, names));
    }

    private static ImageFileSource Scan(string splitDir, string[] classNames)
    {
        var present = Directory.GetDirectories(splitDir).Select(d => Path.GetFileName(d)!).Order(StringComparer.Ordinal).ToArray();
        var unknown = present.Except(classNames, StringComparer.Ordinal).ToArray();
        if (unknown.Length > 0)
        {
            throw new InvalidInputException($"{splitDir} has class folders that {Path.Combine(Path.GetDirectoryName(splitDir)!, TrainFolder)} does not have: {string.Join(", ", unknown)}. Every class needs training images: add {string.Join(", ", unknown.Select(u => $"{TrainFolder}/{u}/"))} or remove those folders (the classes are: {string.Join(", ", classNames)}).");
        }
        var files = new List<string>();
        var labels = new List<long>();
        for (var label = 0; label < classNames.Length; label++)
        {
            var classDir = Path.Combine(splitDir, classNames[label]);
            if (!Directory.Exists(classDir))
            {
                continue;
            }
            var images = Directory.EnumerateFiles(classDir, "*", SearchOption.AllDirectories)
                .Where(f => ImageFileSource.Extensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
                .Order(StringComparer.Ordinal)
                .ToArray();
            if (images.Length == 0)
            {
                throw new InvalidInputException($"The class folder {classDir} holds no PNG or JPEG images (*.png, *.jpg, *.jpeg). Put the class's images there, or remove the folder.");
            }
            files.AddRange(images);
            labels.AddRange(Enumerable.Repeat((long)label, images.Length));
        }
        if (files.Count == 0)
        {
            throw new InvalidInputException($"{splitDir} holds no class folders with images. Put them in {splitDir}/<class>/, with the class names of {TrainFolder}/.");
        }
        return new ImageFileSource(files, labels.ToArray());
    }
}
