using System.Text.RegularExpressions;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace K8sTraining.NodeAgent.Images;

/// <summary>What a matched image stands for: its ENTRYPOINT, CMD and extra environment.</summary>
public sealed record ImageDefinition(
    string Image,
    IReadOnlyList<string> Entrypoint,
    IReadOnlyList<string> Cmd,
    IReadOnlyDictionary<string, string> Env);

/// <summary>The documented image table (localcluster/images.yaml): image pattern to local program.</summary>
public sealed class ImageTable
{
    private readonly IReadOnlyList<(Regex Pattern, ImageEntry Entry)> _entries;
    private readonly string _repositoryRoot;

    private ImageTable(IReadOnlyList<(Regex, ImageEntry)> entries, IReadOnlyList<string> hostEnvironment, string repositoryRoot)
    {
        _entries = entries;
        HostEnvironment = hostEnvironment;
        _repositoryRoot = repositoryRoot;
    }

    /// <summary>Host environment variables passed through to every container (PATH, DOTNET_ROOT, ...).</summary>
    public IReadOnlyList<string> HostEnvironment { get; }

    public static ImageTable Load(string path, string repositoryRoot) => Parse(File.ReadAllText(path), repositoryRoot);

    public static ImageTable Parse(string yaml, string repositoryRoot)
    {
        var deserializer = new DeserializerBuilder()
            .WithNamingConvention(CamelCaseNamingConvention.Instance)
            .Build();
        var file = deserializer.Deserialize<ImageTableFile?>(yaml) ?? new ImageTableFile();
        var entries = new List<(Regex, ImageEntry)>();
        foreach (var entry in file.Images)
        {
            foreach (var pattern in entry.Patterns)
            {
                entries.Add((GlobToRegex(pattern), entry));
            }
        }

        return new ImageTable(entries, file.HostEnvironment, repositoryRoot);
    }

    /// <summary>The definition for an image, or null when no pattern matches (the image "cannot be pulled").</summary>
    public ImageDefinition? Resolve(string image)
    {
        var normalized = ImageReference.Normalize(image);
        foreach (var (pattern, entry) in _entries)
        {
            if (pattern.IsMatch(normalized))
            {
                return new ImageDefinition(
                    normalized,
                    entry.Entrypoint.Select(Substitute).ToArray(),
                    entry.Cmd.Select(Substitute).ToArray(),
                    entry.Env.ToDictionary(kv => kv.Key, kv => Substitute(kv.Value), StringComparer.Ordinal));
            }
        }

        return null;
    }

    private string Substitute(string value) => value.Replace("${REPO}", _repositoryRoot, StringComparison.Ordinal);

    private static Regex GlobToRegex(string glob)
    {
        var escaped = Regex.Escape(ImageReference.Normalize(glob.Replace("*", "\u0001", StringComparison.Ordinal)
            .Replace("?", "\u0002", StringComparison.Ordinal)));
        var pattern = escaped.Replace("\u0001", ".*", StringComparison.Ordinal).Replace("\u0002", ".", StringComparison.Ordinal);
        return new Regex($"^{pattern}$", RegexOptions.CultureInvariant);
    }

    private sealed class ImageTableFile
    {
        public List<string> HostEnvironment { get; set; } = [];

        public List<ImageEntry> Images { get; set; } = [];
    }

    private sealed class ImageEntry
    {
        public List<string> Patterns { get; set; } = [];

        public List<string> Entrypoint { get; set; } = [];

        public List<string> Cmd { get; set; } = [];

        public Dictionary<string, string> Env { get; set; } = [];
    }
}
