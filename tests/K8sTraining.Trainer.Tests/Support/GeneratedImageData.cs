using System.Globalization;
using System.Text;
using K8sTraining.Training.Data;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace K8sTraining.Trainer.Tests.Support;

/// <summary>
/// Test data in the formats users bring, made from the installed Fashion-MNIST test set (t10k, the smaller file;
/// package dataset-fashion-mnist, <c>make deps</c>): a tree of PNG class folders and a FER2013-style CSV with an
/// injected class imbalance. Images are taken in file order, class by class, so the same call writes the same bytes.
/// </summary>
public static class GeneratedImageData
{
    public const string FashionMnistDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>Fashion-MNIST's classes as folder names, label by label (ordinal order differs: ankle-boot, bag, coat, ...).</summary>
    public static readonly IReadOnlyList<string> FolderNames =
        ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot"];

    private static readonly Lazy<(byte[] Pixels, byte[] Labels)> TestSet = new(() =>
    {
        if (!File.Exists(Path.Combine(FashionMnistDirectory, "t10k-images-idx3-ubyte.gz")))
        {
            throw new InvalidOperationException($"Fashion-MNIST is not installed in {FashionMnistDirectory}: run make deps (package dataset-fashion-mnist).");
        }
        var pixels = IdxReader.ReadFile(FashionMnistDirectory, "t10k-images-idx3-ubyte", out _);
        var labels = IdxReader.ReadFile(FashionMnistDirectory, "t10k-labels-idx1-ubyte", out _);
        return (pixels, labels);
    });

    /// <summary>The 28x28 pixels of the <paramref name="n"/>-th image (0-based) of class <paramref name="label"/> in t10k.</summary>
    public static byte[] Image(int label, int n)
    {
        var (pixels, labels) = TestSet.Value;
        var seen = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            if (labels[i] == label && seen++ == n)
            {
                return pixels.AsSpan(i * 784, 784).ToArray();
            }
        }
        throw new ArgumentOutOfRangeException(nameof(n), $"t10k has fewer than {n + 1} images of class {label}.");
    }

    /// <summary>
    /// Writes <paramref name="root"/>/train/&lt;class&gt;/NNNN.png (and test/, and val/ when asked) for the first
    /// <paramref name="classes"/> Fashion-MNIST classes: grayscale PNGs of <paramref name="size"/> px (28: the
    /// original pixels; else resized bilinear), or RGB ones with <paramref name="rgb"/> (gray replicated). With
    /// <paramref name="jpegEvery"/> n > 0, every n-th image is a JPEG instead.
    /// </summary>
    public static ImageFolderLayout WriteImageFolder(string root, int trainPerClass = 24, int testPerClass = 8, int valPerClass = 0, int classes = 10, int size = 28, bool rgb = false, int jpegEvery = 0)
    {
        var splits = new List<(string Split, int Count)> { ("train", trainPerClass), ("test", testPerClass) };
        if (valPerClass > 0)
        {
            splits.Add(("val", valPerClass));
        }
        var written = 0;
        for (var label = 0; label < classes; label++)
        {
            var n = 0;
            foreach (var (split, count) in splits)
            {
                var dir = Path.Combine(root, split, FolderNames[label]);
                Directory.CreateDirectory(dir);
                for (var i = 0; i < count; i++, n++, written++)
                {
                    var jpeg = jpegEvery > 0 && written % jpegEvery == jpegEvery - 1;
                    WriteImage(Path.Combine(dir, i.ToString("D4", CultureInfo.InvariantCulture) + (jpeg ? ".jpg" : ".png")), Image(label, n), size, rgb);
                }
            }
        }
        return new ImageFolderLayout(root, FolderNames.Take(classes).ToArray(), trainPerClass, testPerClass, valPerClass, size);
    }

    /// <summary>Writes one 28x28 gray image as PNG or JPEG (by extension), resized to <paramref name="size"/>.</summary>
    public static void WriteImage(string path, byte[] pixels28, int size = 28, bool rgb = false)
    {
        using var gray = SixLabors.ImageSharp.Image.LoadPixelData<L8>(pixels28, 28, 28);
        if (size != 28)
        {
            gray.Mutate(x => x.Resize(size, size, KnownResamplers.Triangle));
        }
        if (rgb)
        {
            using var color = gray.CloneAs<Rgb24>();
            color.Save(path);
        }
        else
        {
            gray.Save(path);
        }
    }

    /// <summary>
    /// Writes a FER2013-style CSV (<c>emotion,pixels,Usage</c>) from the first 7 Fashion-MNIST classes: Training rows
    /// per class are <see cref="FerLayout.Imbalance"/> x <paramref name="rarest"/> for class 0 down to
    /// <paramref name="rarest"/> for class 6 (10:1), interleaved class by class; then <paramref name="publicPerClass"/>
    /// PublicTest and <paramref name="privatePerClass"/> PrivateTest rows per class (0: none). 28x28 pixels, or upscaled
    /// (bilinear) to <paramref name="size"/>.
    /// </summary>
    public static FerLayout WriteFerCsv(string path, int rarest = 4, int publicPerClass = 3, int privatePerClass = 3, int size = 28)
    {
        int[] factors = [FerLayout.Imbalance, 5, 4, 3, 2, 2, 1];
        var trainCounts = factors.Select(f => f * rarest).ToArray();
        var text = new StringBuilder("emotion,pixels,Usage\n");
        var next = new int[FerLayout.Classes];
        void Row(int label, string usage)
        {
            var pixels = Pixels(Image(label, next[label]++), size);
            text.Append(label.ToString(CultureInfo.InvariantCulture)).Append(',').AppendJoin(' ', pixels).Append(',').Append(usage).Append('\n');
        }
        for (var round = 0; round < trainCounts.Max(); round++)
        {
            for (var label = 0; label < FerLayout.Classes; label++)
            {
                if (round < trainCounts[label])
                {
                    Row(label, "Training");
                }
            }
        }
        foreach (var (usage, count) in new[] { ("PublicTest", publicPerClass), ("PrivateTest", privatePerClass) })
        {
            for (var i = 0; i < count; i++)
            {
                for (var label = 0; label < FerLayout.Classes; label++)
                {
                    Row(label, usage);
                }
            }
        }
        File.WriteAllText(path, text.ToString());
        return new FerLayout(path, size, trainCounts, publicPerClass * FerLayout.Classes, privatePerClass * FerLayout.Classes);
    }

    /// <summary>The pixels of a 28x28 gray image resized to <paramref name="size"/> as the CSV holds them.</summary>
    public static byte[] Pixels(byte[] pixels28, int size)
    {
        if (size == 28)
        {
            return pixels28;
        }
        using var gray = SixLabors.ImageSharp.Image.LoadPixelData<L8>(pixels28, 28, 28);
        gray.Mutate(x => x.Resize(size, size, KnownResamplers.Triangle));
        var result = new byte[size * size];
        gray.CopyPixelDataTo(result);
        return result;
    }
}

/// <summary>What <see cref="GeneratedImageData.WriteImageFolder"/> wrote.</summary>
public sealed record ImageFolderLayout(string Root, IReadOnlyList<string> ClassFolders, int TrainPerClass, int TestPerClass, int ValPerClass, int Size)
{
    /// <summary>The class names as image-folder orders them (ordinal).</summary>
    public IReadOnlyList<string> SortedClasses => ClassFolders.Order(StringComparer.Ordinal).ToArray();
}

/// <summary>What <see cref="GeneratedImageData.WriteFerCsv"/> wrote.</summary>
public sealed record FerLayout(string Path, int Size, IReadOnlyList<int> TrainCounts, int PublicRows, int PrivateRows)
{
    public const int Classes = 7;

    /// <summary>Class 0 has this many times the training rows of the rarest class (6).</summary>
    public const int Imbalance = 10;
}
