using System.Runtime.InteropServices;

namespace K8sTraining.Training.Checkpoints;

/// <summary>fsync(2) of a directory, which .NET cannot open as a file: makes a rename or create in it durable.</summary>
internal static partial class FileSync
{
    private const int ReadOnly = 0;

    public static void FsyncDirectory(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        var fd = Open(path, ReadOnly);
        if (fd < 0)
        {
            throw new IOException($"open {path} failed: errno {Marshal.GetLastPInvokeError()}");
        }
        try
        {
            if (Fsync(fd) != 0)
            {
                throw new IOException($"fsync {path} failed: errno {Marshal.GetLastPInvokeError()}");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
