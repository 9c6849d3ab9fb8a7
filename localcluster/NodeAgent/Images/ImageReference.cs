namespace K8sTraining.NodeAgent.Images;

/// <summary>Normalises image references the way container runtimes name them (docker.io/library/x:latest).</summary>
public static class ImageReference
{
    private const string DefaultRegistry = "docker.io";

    public static string Normalize(string image)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(image);
        var reference = image.Trim();
        var slash = reference.IndexOf('/', StringComparison.Ordinal);
        var first = slash < 0 ? null : reference[..slash];
        var hasRegistry = first is not null && (first.Contains('.', StringComparison.Ordinal)
            || first.Contains(':', StringComparison.Ordinal) || first == "localhost");
        if (!hasRegistry)
        {
            reference = slash < 0 ? $"{DefaultRegistry}/library/{reference}" : $"{DefaultRegistry}/{reference}";
        }

        var lastSlash = reference.LastIndexOf('/');
        var name = reference[(lastSlash + 1)..];
        if (!name.Contains(':', StringComparison.Ordinal) && !name.Contains('@', StringComparison.Ordinal))
        {
            reference += ":latest";
        }

        return reference;
    }
}
