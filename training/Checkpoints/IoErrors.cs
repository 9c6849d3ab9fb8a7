namespace K8sTraining.Training.Checkpoints;

/// <summary>Tells apart the I/O errors a user must fix (read-only, not a directory) from others (a full disk).</summary>
internal static class IoErrors
{
    // .NET on Unix puts the errno of an unmapped error into HResult; the message is strerror's text.
    private const int NotADirectory = 20; // ENOTDIR
    private const int ReadOnly = 30; // EROFS

    public static bool IsReadOnlyFileSystem(IOException e) => Is(e, ReadOnly, "Read-only file system");

    public static bool IsNotADirectory(IOException e) => Is(e, NotADirectory, "Not a directory");

    private static bool Is(IOException e, int errno, string text) =>
        (e.HResult & 0xFFFF) == errno || e.Message.Contains(text, StringComparison.OrdinalIgnoreCase);
}
