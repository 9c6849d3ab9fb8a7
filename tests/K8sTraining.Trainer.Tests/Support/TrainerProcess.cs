using System.Globalization;
using System.Text.RegularExpressions;

namespace K8sTraining.Trainer.Tests.Support;

/// <summary>A real trainer process (the K8sTraining.Trainer.dll beside the tests) with its output and real signals.</summary>
public sealed partial class TrainerProcess : IDisposable
{
    private readonly ChildProcess _process;
    private long _lastGlobalStep = -1;

    private TrainerProcess(Func<TrainerProcess, ChildProcess> start)
    {
        _process = start(this);
    }

    public static string TrainerDll => Beside("K8sTraining.Trainer.dll");

    /// <summary>examples/custom-trainer, a trainer built on the library with its own network and data.</summary>
    public static string CustomTrainerDll => Beside("CustomTrainer.dll");

    private static string Beside(string fileName)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, fileName);
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"{fileName} is not beside the tests.", dll);
    }

    public int Id => _process.Id;

    public string Stdout => _process.Stdout;

    public string Stderr => _process.Stderr;

    /// <summary>The highest global step the trainer has logged (needs --log-every-steps 1 to be exact).</summary>
    public long LastGlobalStep => Interlocked.Read(ref _lastGlobalStep);

    public static TrainerProcess Start(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null) =>
        StartCommand(["train", .. args], environment);

    /// <summary>
    /// Starts the trainer with exactly these arguments (no implied <c>train</c> command), without the TRAINER_* and test
    /// variables of the test run's own environment.
    /// </summary>
    public static TrainerProcess StartCommand(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null) =>
        StartProgram(TrainerDll, args, environment);

    /// <summary>Starts another trainer program (<paramref name="dll"/>) exactly like <see cref="StartCommand"/>.</summary>
    public static TrainerProcess StartProgram(string dll, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null) =>
        new(trainer => ChildProcess.Start(
            Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet",
            [dll, .. args],
            environment,
            onStdout: trainer.OnStdout,
            dropInherited: k => k.StartsWith("TRAINER_", StringComparison.Ordinal) || k.StartsWith("K8STRAINING_TEST_", StringComparison.Ordinal)));

    /// <summary>Runs to the end and returns the exit code.</summary>
    public static async Task<(int ExitCode, TrainerProcess Process)> RunAsync(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null, int timeoutSeconds = 180)
    {
        var p = Start(args, environment);
        var code = await p.WaitForExitAsync(TimeSpan.FromSeconds(timeoutSeconds));
        return (code, p);
    }

    public void SendSigterm() => _process.SendSigterm();

    public void SendSigkill() => _process.Process.Kill();

    /// <summary>Freezes the process (SIGSTOP), as a node partition freezes a trainer from everyone else's view.</summary>
    public void SendSigstop() => _process.SendSigstop();

    /// <summary>Lets a frozen process run on (SIGCONT): the zombie comes back, unaware of what happened meanwhile.</summary>
    public void SendSigcont() => _process.SendSigcont();

    public Task<int> WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync(timeout);

    /// <summary>Polls until the trainer has logged <paramref name="globalStep"/>; fails if it exits first.</summary>
    public async Task WaitForGlobalStepAsync(long globalStep, TimeSpan timeout)
    {
        await Eventually.TrueAsync(() =>
        {
            if (_process.HasExited && LastGlobalStep < globalStep)
            {
                throw new InvalidOperationException($"The trainer exited ({_process.Process.ExitCode}) at step {LastGlobalStep} before step {globalStep}.\n{Stdout}\n{Stderr}");
            }
            return LastGlobalStep >= globalStep;
        }, timeout, $"global step {globalStep}");
    }

    public void Dispose() => _process.Dispose();

    private void OnStdout(string line)
    {
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
}
