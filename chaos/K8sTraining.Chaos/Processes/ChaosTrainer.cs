using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using K8sTraining.Chaos.Runner;
using K8sTraining.Contract;
using K8sTraining.TestSupport;

namespace K8sTraining.Chaos.Processes;

/// <summary>
/// The published trainer as a real child process: its global step, resume point and phase (restore, upload) read from
/// its log as it runs, real SIGTERM/SIGKILL, and every output line kept for the secrets scan.
/// </summary>
public sealed partial class ChaosTrainer : IDisposable
{
    private readonly ChildProcess process;
    private long lastStep = -1;
    private long uploadsQueued;
    private long restoresStarted;
    private long resumedAt = -1;
    private long firstStepTicks;

    private ChaosTrainer(IReadOnlyList<string> args, IReadOnlyDictionary<string, string> environment, string? workingDirectory)
    {
        Started = Stopwatch.GetTimestamp();
        process = ChildProcess.Start(
            Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet",
            [TrainerDll, .. args],
            environment,
            workingDirectory,
            onStdout: OnLine,
            dropInherited: k => k.StartsWith("TRAINER_", StringComparison.Ordinal) || k.StartsWith("K8STRAINING_TEST_", StringComparison.Ordinal) || k.StartsWith("AWS_", StringComparison.Ordinal));
    }

    public static string TrainerDll => RepositoryPaths.Published("trainer", "K8sTraining.Trainer.dll");

    public long Started { get; }

    public long LastStep => Interlocked.Read(ref lastStep);

    /// <summary>The global step this process resumed at (its "Resuming at" line); -1 when it started fresh or has not yet.</summary>
    public long ResumedAt => Interlocked.Read(ref resumedAt);

    public long UploadsQueued => Interlocked.Read(ref uploadsQueued);

    public long RestoresStarted => Interlocked.Read(ref restoresStarted);

    /// <summary>Stopwatch ticks of the first step this process completed; 0 before.</summary>
    public long FirstStepTicks => Interlocked.Read(ref firstStepTicks);

    public bool HasExited => process.HasExited;

    public string Output => process.Output;

    public static ChaosTrainer Start(IReadOnlyList<string> args, IReadOnlyDictionary<string, string> environment, string? workingDirectory = null) =>
        new(["train", .. args], environment, workingDirectory);

    public void Sigterm() => process.SendSigterm();

    public void Sigkill()
    {
        try
        {
            process.Process.Kill();
        }
        catch (InvalidOperationException)
        {
        }
    }

    public Task<int> WaitForExitAsync(TimeSpan timeout) => process.WaitForExitAsync(timeout);

    /// <summary>Polls (10 ms) until <paramref name="condition"/> holds; false when the process exits first or the time is up.</summary>
    public async Task<bool> WaitUntilAsync(Func<ChaosTrainer, bool> condition, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition(this))
        {
            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                return condition(this);
            }
            await Task.Delay(5, cancellationToken);
        }
        return true;
    }

    /// <summary>Keeps the output (and the termination log when given) for the secrets scan.</summary>
    public void Keep(ChaosContext context, string what, string? terminationLog = null)
    {
        context.Produced($"{what} output", process.Output);
        if (terminationLog is not null && File.Exists(terminationLog))
        {
            context.Produced($"{what} termination message", File.ReadAllText(terminationLog));
        }
    }

    public static TerminationMessage? ReadTermination(string path) =>
        File.Exists(path) ? TerminationMessage.TryParse(File.ReadAllText(path)) : null;

    /// <summary>A .NET stack trace in the output: what a user error must never produce.</summary>
    public static bool HasStackTrace(string text) =>
        StackFrame().IsMatch(text) || text.Contains("Unhandled exception", StringComparison.Ordinal) || text.Contains("--- End of inner exception stack trace ---", StringComparison.Ordinal);

    public void Dispose() => process.Dispose();

    private void OnLine(string line)
    {
        var m = GlobalStep().Match(line);
        if (m.Success)
        {
            var step = long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            Interlocked.CompareExchange(ref firstStepTicks, Stopwatch.GetTimestamp(), 0);
            long seen;
            while (step > (seen = Interlocked.Read(ref lastStep)) && Interlocked.CompareExchange(ref lastStep, step, seen) != seen)
            {
            }
            return;
        }
        var r = Resume().Match(line);
        if (r.Success)
        {
            var step = long.Parse(r.Groups[1].Value, CultureInfo.InvariantCulture);
            Interlocked.Exchange(ref resumedAt, step);
            long seen;
            while (step > (seen = Interlocked.Read(ref lastStep)) && Interlocked.CompareExchange(ref lastStep, step, seen) != seen)
            {
            }
            return;
        }
        if (line.Contains("Queued ", StringComparison.Ordinal) && line.Contains("for upload", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref uploadsQueued);
        }
        else if (line.Contains("Remote checkpoints at", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref restoresStarted);
        }
    }

    [GeneratedRegex(@"\(global (\d+)/")]
    private static partial Regex GlobalStep();

    [GeneratedRegex(@"Resuming at epoch \d+, step \d+ of epoch \(global step (\d+)\)")]
    private static partial Regex Resume();

    // A frame, at a line's start or inside a one-line log entry: "at Namespace.Type.Method(".
    [GeneratedRegex(@"(^|\s)at [\w`<>$|]+(\.[\w`<>$|]+)+(\[[^\]]*\])?\(", RegexOptions.Multiline)]
    private static partial Regex StackFrame();
}
