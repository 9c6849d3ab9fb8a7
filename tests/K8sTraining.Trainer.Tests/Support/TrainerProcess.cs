using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace K8sTraining.Trainer.Tests.Support;

/// <summary>A real trainer process (the K8sTraining.Trainer.dll beside the tests) with its output and real signals.</summary>
public sealed partial class TrainerProcess : IDisposable
{
    private const int SigTerm = 15;
    private const int SigCont = 18;
    private const int SigStop = 19;

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _stdout = new();
    private readonly ConcurrentQueue<string> _stderr = new();
    private long _lastGlobalStep = -1;

    private TrainerProcess(Process process)
    {
        _process = process;
    }

    public static string TrainerDll
    {
        get
        {
            var dll = Path.Combine(AppContext.BaseDirectory, "K8sTraining.Trainer.dll");
            return File.Exists(dll) ? dll : throw new FileNotFoundException("The trainer is not beside the tests.", dll);
        }
    }

    public int Id => _process.Id;

    public string Stdout => string.Join('\n', _stdout);

    public string Stderr => string.Join('\n', _stderr);

    /// <summary>The highest global step the trainer has logged (needs --log-every-steps 1 to be exact).</summary>
    public long LastGlobalStep => Interlocked.Read(ref _lastGlobalStep);

    public static TrainerProcess Start(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null) =>
        StartCommand(["train", .. args], environment);

    /// <summary>Starts the trainer with exactly these arguments (no implied <c>train</c> command).</summary>
    public static TrainerProcess StartCommand(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(TrainerDll);
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("TRAINER_", StringComparison.Ordinal) || k.StartsWith("K8STRAINING_TEST_", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(key);
        }
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }
        var process = new Process { StartInfo = info };
        var trainer = new TrainerProcess(process);
        process.OutputDataReceived += (_, e) => trainer.OnStdout(e.Data);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                trainer._stderr.Enqueue(e.Data);
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return trainer;
    }

    /// <summary>Runs to the end and returns the exit code.</summary>
    public static async Task<(int ExitCode, TrainerProcess Process)> RunAsync(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null, int timeoutSeconds = 180)
    {
        var p = Start(args, environment);
        var code = await p.WaitForExitAsync(TimeSpan.FromSeconds(timeoutSeconds));
        return (code, p);
    }

    public void SendSigterm()
    {
        if (Kill(_process.Id, SigTerm) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            var state = _process.HasExited ? $"it had already exited with {_process.ExitCode}" : "it is still running";
            throw new InvalidOperationException($"kill({_process.Id}, SIGTERM) failed: errno {errno}; {state}\n{Stdout}\n{Stderr}");
        }
    }

    public void SendSigkill() => _process.Kill();

    /// <summary>Freezes the process (SIGSTOP), as a node partition freezes a trainer from everyone else's view.</summary>
    public void SendSigstop() => Signal(SigStop);

    /// <summary>Lets a frozen process run on (SIGCONT): the zombie comes back, unaware of what happened meanwhile.</summary>
    public void SendSigcont() => Signal(SigCont);

    private void Signal(int signal)
    {
        if (Kill(_process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"The trainer did not exit within {timeout}.\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
        }
        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <summary>Polls until the trainer has logged <paramref name="globalStep"/>; fails if it exits first.</summary>
    public async Task WaitForGlobalStepAsync(long globalStep, TimeSpan timeout)
    {
        await Eventually.TrueAsync(() =>
        {
            if (_process.HasExited && LastGlobalStep < globalStep)
            {
                throw new InvalidOperationException($"The trainer exited ({_process.ExitCode}) at step {LastGlobalStep} before step {globalStep}.\n{Stdout}\n{Stderr}");
            }
            return LastGlobalStep >= globalStep;
        }, timeout, $"global step {globalStep}");
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
        _process.Dispose();
    }

    private void OnStdout(string? line)
    {
        if (line is null)
        {
            return;
        }
        _stdout.Enqueue(line);
        var m = GlobalStepPattern().Match(line);
        if (m.Success)
        {
            var step = long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            long seen;
            while (step > (seen = Interlocked.Read(ref _lastGlobalStep)) && Interlocked.CompareExchange(ref _lastGlobalStep, step, seen) != seen)
            {
            }
        }
    }

    [GeneratedRegex(@"\(global (\d+)/")]
    private static partial Regex GlobalStepPattern();

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
