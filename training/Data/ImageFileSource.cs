using System.Buffers;
using K8sTraining.Training.Options;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace K8sTraining.Training.Data;

/// <summary>
/// PNG and JPEG files decoded on demand by SixLabors.ImageSharp, as RGB scaled to 0-1 (an alpha channel is dropped);
/// an image whose every pixel has R = G = B comes back as one gray channel. Thread-safe: every read opens its own file.
/// </summary>
public sealed class ImageFileSource(IReadOnlyList<string> files, long[] labels) : IImageSource
{
    /// <summary>The extensions image-folder reads (case-insensitive); other files in a class folder are ignored.</summary>
    public static readonly IReadOnlyList<string> Extensions = [".png", ".jpg", ".jpeg"];

    public IReadOnlyList<string> Files { get; } = files ?? throw new ArgumentNullException(nameof(files));

    public int Count => Files.Count;

    public long LabelOf(int index) => labels[index];

    public SourceImage Read(int index) => Decode(Files[index]);

    /// <summary>Decodes one file; an unreadable or undecodable one is an <see cref="InvalidInputException"/> naming it.</summary>
    public static SourceImage Decode(string path)
    {
        Image<Rgb24> image;
        try
        {
            image = Image.Load<Rgb24>(path);
        }
        catch (Exception e) when (e is UnknownImageFormatException or InvalidImageContentException or ImageFormatException or NotSupportedException)
        {
            throw new InvalidInputException($"{path} cannot be decoded as a PNG or JPEG image ({e.Message.TrimEnd('.')}). Replace or remove the file.", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidInputException($"{path} cannot be read ({e.Message.TrimEnd('.')}). Make it readable or remove it.", e);
        }
        using (image)
        {
            var (height, width) = (image.Height, image.Width);
            var plane = height * width;
            var floats = ArrayPool<float>.Shared.Rent(3 * plane);
            var gray = true;
            image.ProcessPixelRows(rows =>
            {
                for (var y = 0; y < rows.Height; y++)
                {
                    var row = rows.GetRowSpan(y);
                    for (var x = 0; x < row.Length; x++)
                    {
                        var p = row[x];
                        var i = (y * width) + x;
                        floats[i] = p.R / 255f;
                        floats[plane + i] = p.G / 255f;
                        floats[(2 * plane) + i] = p.B / 255f;
                        gray &= p.R == p.G && p.G == p.B;
                    }
                }
            });
            // A gray image stays exactly gray: one channel, which 3 channels replicate (luminance would scale it by 0.9999).
            return new SourceImage(floats, gray ? 1 : 3, height, width);
        }
    }

    /// <summary>The size of one file from its header (no full decode); errors as <see cref="Decode"/>.</summary>
    public static (int Height, int Width) Identify(string path)
    {
        try
        {
            var info = Image.Identify(path) ?? throw new UnknownImageFormatException("not a recognised image format");
            return (info.Height, info.Width);
        }
        catch (Exception e) when (e is UnknownImageFormatException or InvalidImageContentException or ImageFormatException or NotSupportedException)
        {
            throw new InvalidInputException($"{path} cannot be decoded as a PNG or JPEG image ({e.Message.TrimEnd('.')}). Replace or remove the file.", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidInputException($"{path} cannot be read ({e.Message.TrimEnd('.')}). Make it readable or remove it.", e);
        }
    }
}
