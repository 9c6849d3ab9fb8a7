using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace K8sTraining.NodeAgent.Processes;

/// <summary>What a container process is started with.</summary>
public sealed record ProcessSpec(
    IReadOnlyList<string> Argv,
    IReadOnlyDictionary<string, string> Environment,
    string WorkingDirectory,
    string LogFile);

/// <summary>
/// A container's main process, started in its own session and process group (setsid) with stdin from /dev/null and
/// stdout+stderr appended to its log file, so that the whole container can be killed at once.
/// </summary>
public sealed class ProcessGroup : IDisposable
{
    // Redirection is done by the shell right before exec, so the agent holds no pipes: the container writes its log
    // itself, and its exit is seen without waiting for grandchildren that keep a pipe open.
    private const string Wrapper = "log=$1; shift; exec \"$@\" </dev/null >>\"$log\" 2>&1";

    private static readonly ConcurrentDictionary<int, ProcessGroup> Live = new();

    private readonly Process _process;

    static ProcessGroup()
    {
        // A safety net for hosts that exit without stopping the agent: no container outlives the node.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
    }

    private ProcessGroup(Process process)
    {
        _process = process;
        Id = process.Id;
        Live[Id] = this;
        Exited = WaitAsync();
    }

    /// <summary>The main process id, which is also the process group id.</summary>
    public int Id { get; }

    /// <summary>Completes with the exit code (128 + signal when killed by a signal) once the main process ends.</summary>
    public Task<int> Exited { get; }

    public static ProcessGroup Start(ProcessSpec spec)
    {
        if (spec.Argv.Count == 0)
        {
            throw new ArgumentException("no command specified", nameof(spec));
        }

        var info = new ProcessStartInfo("setsid")
        {
            UseShellExecute = false,
            WorkingDirectory = spec.WorkingDirectory,
        };
        info.ArgumentList.Add("/bin/sh");
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(Wrapper);
        info.ArgumentList.Add("sh");
        info.ArgumentList.Add(spec.LogFile);
        foreach (var arg in spec.Argv)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment.Clear();
        foreach (var (name, value) in spec.Environment)
        {
            info.Environment[name] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("the process did not start");
        return new ProcessGroup(process);
    }

    /// <summary>
    /// Asks the container to stop, as a container runtime does: SIGTERM to the main process (PID 1 of a container)
    /// only. A shell that does not pass it on to its child behaves here as it would in a real pod.
    /// </summary>
    public bool Terminate() => Libc.Kill(Id, Libc.SIGTERM) == 0;

    /// <summary>Kills every process of the container (the group), as tearing down its PID namespace does.</summary>
    public bool Kill() =>
        // Right after the start, setsid may not have run yet: then the process itself is still the whole container.
        Libc.Kill(-Id, Libc.SIGKILL) == 0 || Libc.Kill(Id, Libc.SIGKILL) == 0;

    /// <summary>Kills every container process this agent process started (agent shutdown).</summary>
    public static void KillAll()
    {
        foreach (var group in Live.Values)
        {
            group.Kill();
        }
    }

    /// <summary>Reads a process's start time (clock ticks since boot) so a recorded pid is not mistaken after reuse.</summary>
    public static long? ReadStartTime(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[19], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        Live.TryRemove(Id, out _);
        _process.Dispose();
    }

    private async Task<int> WaitAsync()
    {
        await _process.WaitForExitAsync().ConfigureAwait(false);
        var exitCode = _process.ExitCode;

        // As in a PID namespace, the container ends with its main process.
        Kill();
        Live.TryRemove(Id, out _);
        return exitCode;
    }
}
