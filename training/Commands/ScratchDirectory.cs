namespace K8sTraining.Training.Commands;

/// <summary>A temporary directory a command restores a remote checkpoint into; deleted when disposed.</summary>
public sealed class ScratchDirectory : IDisposable
{
    public ScratchDirectory(string command)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"k8straining-{command}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Already gone.
        }
    }
}
