using System.Runtime.InteropServices;

namespace K8sTraining.Training.Storage;

/// <summary>Stages a file for upload without copying its bytes where the file system allows.</summary>
internal static partial class HardLink
{
    /// <summary>Hard-links <paramref name="source"/> to <paramref name="destination"/>, or copies it when links are not possible.</summary>
    public static void LinkOrCopy(string source, string destination)
    {
        if (!OperatingSystem.IsWindows() && link(source, destination) == 0)
        {
            return;
        }
        File.Copy(source, destination, overwrite: true);
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int link([MarshalAs(UnmanagedType.LPUTF8Str)] string oldpath, [MarshalAs(UnmanagedType.LPUTF8Str)] string newpath);
}
