namespace K8sTraining.NodeAgent.Processes;

/// <summary>Finds the program a container's argv[0] names, as exec(3) would with the container's PATH.</summary>
public static class ExecutableLookup
{
    private const UnixFileMode AnyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    public static string? Find(string name, string? path, string workingDirectory)
    {
        if (string.IsNullOrEmpty(name))
        {
            return null;
        }

        if (name.Contains('/', StringComparison.Ordinal))
        {
            var full = Path.GetFullPath(name, workingDirectory);
            return IsExecutable(full) ? full : null;
        }

        foreach (var directory in (path ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (IsExecutable(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static bool IsExecutable(string file) =>
        File.Exists(file) && (OperatingSystem.IsWindows() || (File.GetUnixFileMode(file) & AnyExecute) != 0);
}
