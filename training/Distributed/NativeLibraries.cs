using System.Runtime.InteropServices;

namespace K8sTraining.Training.Distributed;

/// <summary>
/// Finds a native library loaded on demand (NCCL, the CUDA runtime), so that a machine without it never needs it: first
/// in the application's own native folders (where TorchSharp's CUDA build puts the CUDA runtime it ships), then by the
/// system loader's search.
/// </summary>
internal static class NativeLibraries
{
    /// <summary>The first of <paramref name="names"/> that loads, or an explanation of why none did.</summary>
    public static bool TryLoad(IEnumerable<string> names, IEnumerable<string> bundledPatterns, out IntPtr handle, out string tried)
    {
        var attempts = new List<string>();
        foreach (var path in BundledCandidates(bundledPatterns).Concat(names))
        {
            if (NativeLibrary.TryLoad(path, out handle))
            {
                tried = path;
                return true;
            }

            attempts.Add(path);
        }

        handle = IntPtr.Zero;
        tried = string.Join(", ", attempts);
        return false;
    }

    public static unsafe void* Export(IntPtr library, string name, string libraryName)
    {
        if (!NativeLibrary.TryGetExport(library, name, out var address))
        {
            throw new CollectiveException($"{libraryName} has no function {name}: it is too old; the NCCL backend needs NCCL 2.7 or later with CUDA 11 or 12.");
        }

        return (void*)address;
    }

    private static IEnumerable<string> BundledCandidates(IEnumerable<string> patterns)
    {
        var folders = new[] { Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native"), AppContext.BaseDirectory };
        return folders
            .Where(Directory.Exists)
            .SelectMany(folder => patterns.SelectMany(pattern => Directory.EnumerateFiles(folder, pattern)).Order(StringComparer.Ordinal));
    }
}
