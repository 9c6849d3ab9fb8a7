using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace K8sTraining.TestSupport;

/// <summary>
/// A real child process whose output is kept for assertions and failure messages: real signals, a deadline on every wait,
/// and the whole tree killed on dispose. Project wrappers (TrainerProcess, OperatorProcess) add what they know on top.
/// </summary>
public sealed partial class ChildProcess : IAsyncDisposable, IDisposable
{
    private const int SigTerm = 15;
    private const int SigCont = 18;
    private const int SigStop = 19;

    private readonly StringBuilder _output = new();
    private readonly ConcurrentQueue<string> _stdout = new();
    private readonly ConcurrentQueue<string> _stderr = new();
    private readonly Action<string>? _onStdout;

    private ChildProcess(Process process, Action<string>? onStdout)
    {
        Process = process;
        _onStdout = onStdout;
    }

    public Process Process { get; }

    public int Id => Process.Id;

    public bool HasExited => Process.HasExited;

    /// <summary>What the command line was, for messages.</summary>
    public string CommandLine => $"{Process.StartInfo.FileName} {string.Join(' ', Process.StartInfo.ArgumentList)}";

    /// <summary>Both streams, line by line in the order they arrived.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public string Stdout => string.Join('\n', _stdout);

    public string Stderr => string.Join('\n', _stderr);

    /// <summary>
    /// Starts <paramref name="file"/> with <paramref name="args"/>. <paramref name="environment"/> adds or replaces
    /// variables; those <paramref name="dropInherited"/> accepts are removed from the inherited environment first.
    /// <paramref name="onStdout"/> sees every stdout line as it arrives.
    /// </summary>
    public static ChildProcess Start(
        string file,
        IEnumerable<string> args,
        IReadOnlyDictionary<string, string>? environment = null,
        string? workingDirectory = null,
        Action<string>? onStdout = null,
        Func<string, bool>? dropInherited = null)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (workingDirectory is not null)
        {
            info.WorkingDirectory = workingDirectory;
        }
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }
        if (dropInherited is not null)
        {
            foreach (var key in info.Environment.Keys.Where(dropInherited).ToList())
            {
                info.Environment.Remove(key);
            }
        }
        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[k] = v;
        }

        var child = new ChildProcess(new Process { StartInfo = info }, onStdout);
        child.Process.OutputDataReceived += (_, e) => child.Append(e.Data, child._stdout, child._onStdout);
        child.Process.ErrorDataReceived += (_, e) => child.Append(e.Data, child._stderr, null);
        if (!child.Process.Start())
        {
            throw new InvalidOperationException($"{file} did not start");
        }
        child.Process.BeginOutputReadLine();
        child.Process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Runs a program to completion within <paramref name="timeout"/> (default a minute); kills it and throws when it takes longer.</summary>
    public static async Task<ProcessResult> RunAsync(
        string file,
        IEnumerable<string> args,
        IReadOnlyDictionary<string, string>? environment = null,
        TimeSpan? timeout = null,
        string? workingDirectory = null,
        CancellationToken cancellationToken = default)
    {
        await using var child = Start(file, args, environment, workingDirectory);
        var code = await child.WaitForExitAsync(timeout ?? TimeSpan.FromMinutes(1), cancellationToken);
        return new ProcessResult(code, child.Stdout, child.Stderr);
    }

    /// <summary>SIGTERM, as the kubelet sends on pod deletion or preemption; fails loudly when the process is already gone.</summary>
    public void SendSigterm()
    {
        if (Kill(Process.Id, SigTerm) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            var state = Process.HasExited ? $"it had already exited with {Process.ExitCode}" : "it is still running";
            throw new InvalidOperationException($"kill({Process.Id}, SIGTERM) failed: errno {errno}; {state}\n{Output}");
        }
    }

    /// <summary>SIGSTOP: freezes the process, as a node partition freezes a program from everyone else's view.</summary>
    public void SendSigstop() => Signal(SigStop, "SIGSTOP");

    /// <summary>SIGCONT: lets a stopped process run on, unaware of what happened meanwhile.</summary>
    public void SendSigcont() => Signal(SigCont, "SIGCONT");

    private void Signal(int signal, string name)
    {
        if (Kill(Process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({Process.Id}, {name}) failed: errno {Marshal.GetLastPInvokeError()}\n{Output}");
        }
    }

    /// <summary>SIGKILL to the whole tree (no chance to clean up, as a node crash or an OOM kill), then waits for the exit.</summary>
    public async Task KillAsync()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
        }
        await Process.WaitForExitAsync();
    }

    /// <summary>Waits for the exit and returns its code; past <paramref name="timeout"/> kills the tree and throws with the output.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await Process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            Process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{CommandLine} did not exit within {timeout}.\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
        }
        // The parameterless wait also drains the redirected streams.
        Process.WaitForExit();
        return Process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        Process.Dispose();
    }

    public void Dispose()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
        }
        Process.Dispose();
    }

    private void Append(string? line, ConcurrentQueue<string> stream, Action<string>? observe)
    {
        if (line is null)
        {
            return;
        }
        stream.Enqueue(line);
        lock (_output)
        {
            _output.AppendLine(line);
        }
        observe?.Invoke(line);
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
