using System.Diagnostics;

namespace K8sTraining.Trainer.Tests.Support;

/// <summary>
/// A real small or read-only file system for the disk-full and read-only cases: a tmpfs mounted with mount(8), which
/// needs root with CAP_SYS_ADMIN. Unmounted and removed on dispose.
/// </summary>
public sealed class Tmpfs : IDisposable
{
    private static readonly Lazy<string?> Unavailable = new(Probe);

    private Tmpfs(string path)
    {
        Path = path;
    }

    public string Path { get; }

    /// <summary>Null when tmpfs can be mounted here; otherwise why not.</summary>
    public static string? UnavailableReason => Unavailable.Value;

    /// <summary>Mounts a tmpfs of <paramref name="size"/> (mount's syntax, e.g. "6m"), read-only when asked.</summary>
    public static Tmpfs Mount(string size, bool readOnly = false)
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "k8st-tmpfs-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(path);
        var (code, output) = Run("mount", "-t", "tmpfs", "-o", $"size={size}{(readOnly ? ",ro" : "")}", "tmpfs", path);
        if (code != 0)
        {
            Directory.Delete(path);
            throw new InvalidOperationException($"mount -t tmpfs {path} exited {code}: {output}");
        }
        return new Tmpfs(path);
    }

    public void Dispose()
    {
        _ = Run("umount", "-l", Path);
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string? Probe()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "not Linux";
        }
        if (Environment.UserName != "root")
        {
            return $"mounting a tmpfs needs root, this is {Environment.UserName}";
        }
        try
        {
            using var probe = Mount("64k");
            return null;
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return e.Message;
        }
    }

    private static (int Code, string Output) Run(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, (stdout + stderr.Result).Trim());
    }
}

/// <summary>A fact that needs a real tmpfs (root); without one it is reported as skipped with the reason, never as passed.</summary>
public sealed class TmpfsFactAttribute : FactAttribute
{
    public TmpfsFactAttribute()
    {
        if (Tmpfs.UnavailableReason is { } reason)
        {
            Skip = $"needs a tmpfs mount: {reason}";
        }
    }
}

/// <summary>
/// A directory this process cannot write: a read-only tmpfs as root (root ignores permissions), else mode 0555.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ReadOnlyDirectory : IDisposable
{
    private readonly Tmpfs? mount;

    private ReadOnlyDirectory(string path, Tmpfs? mount)
    {
        Path = path;
        this.mount = mount;
    }

    public string Path { get; }

    /// <summary>Null when one can be made here; otherwise why not (root without the right to mount).</summary>
    public static string? UnavailableReason =>
        Environment.UserName == "root" && Tmpfs.UnavailableReason is { } reason ? $"as root only a read-only tmpfs is read-only: {reason}" : null;

    public static ReadOnlyDirectory Create()
    {
        if (Environment.UserName == "root")
        {
            if (Tmpfs.UnavailableReason is { } reason)
            {
                throw new InvalidOperationException($"running as root, a read-only directory needs a read-only tmpfs: {reason}");
            }
            var ro = Tmpfs.Mount("64k", readOnly: true);
            return new ReadOnlyDirectory(ro.Path, ro);
        }
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "k8st-readonly-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(path);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        return new ReadOnlyDirectory(path, null);
    }

    public void Dispose()
    {
        if (mount is not null)
        {
            mount.Dispose();
            return;
        }
        File.SetUnixFileMode(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Directory.Delete(Path, recursive: true);
    }
}

/// <summary>A fact that needs a directory this process cannot write; skipped with the reason where none can be made.</summary>
public sealed class ReadOnlyDirectoryFactAttribute : FactAttribute
{
    public ReadOnlyDirectoryFactAttribute()
    {
        if (OperatingSystem.IsWindows())
        {
            Skip = "needs Unix file modes or mount(8)";
        }
        else if (ReadOnlyDirectory.UnavailableReason is { } reason)
        {
            Skip = $"needs a read-only directory: {reason}";
        }
    }
}
