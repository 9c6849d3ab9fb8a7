using System.Diagnostics;

namespace K8sTraining.Chaos.Storage;

/// <summary>A real small file system: a tmpfs mounted with mount(8) (root with CAP_SYS_ADMIN), remountable read-only.</summary>
public sealed class TmpfsMount : IDisposable
{
    private TmpfsMount(string path)
    {
        Path = path;
    }

    public string Path { get; }

    /// <summary>Mounts a tmpfs of <paramref name="size"/> (e.g. "6m") at a fresh folder; null with the reason when refused.</summary>
    public static (TmpfsMount? Mount, string? Refused) TryMount(string parent, string size)
    {
        var path = System.IO.Path.Combine(parent, "tmpfs-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(path);
        var (code, output) = Run("mount", "-t", "tmpfs", "-o", $"size={size}", "tmpfs", path);
        return code == 0 ? (new TmpfsMount(path), null) : (null, $"mount -t tmpfs exited {code}: {output}");
    }

    public string? Remount(bool readOnly)
    {
        var (code, output) = Run("mount", "-o", readOnly ? "remount,ro" : "remount,rw", Path);
        return code == 0 ? null : $"remount exited {code}: {output}";
    }

    public void Dispose() => Run("umount", "-l", Path);

    private static (int Code, string Output) Run(string file, params string[] args)
    {
        try
        {
            var info = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            using var process = Process.Start(info)!;
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, (stdout + stderr.Result).Trim());
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }
}
