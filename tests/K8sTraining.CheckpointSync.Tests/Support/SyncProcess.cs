using System.Globalization;
using K8sTraining.Contract;
using K8sTraining.Training.Storage;

namespace K8sTraining.CheckpointSync.Tests.Support;

/// <summary>
/// The published checkpoint-sync program (make publish -> .local/publish/checkpoint-sync) as a real process, with the
/// environment the operator gives the sidecar: a checkpoint directory, the s3rver prefix, a metrics port, a termination log.
/// </summary>
public sealed class SyncProcess : IAsyncDisposable
{
    private SyncProcess(ChildProcess process, string directory, string terminationLog, int metricsPort)
    {
        Process = process;
        Directory = directory;
        TerminationLog = terminationLog;
        MetricsPort = metricsPort;
    }

    public ChildProcess Process { get; }

    /// <summary>The checkpoint directory it syncs (TRAINER_CHECKPOINT_DIR).</summary>
    public string Directory { get; }

    public string TerminationLog { get; }

    public int MetricsPort { get; }

    public string ReadyFile => Path.Combine(Directory, CheckpointSyncContract.ReadyFileName);

    public static string Dll => RepositoryPaths.Published("checkpoint-sync", "K8sTraining.CheckpointSync.dll");

    /// <summary>The sidecar's environment for <paramref name="prefix"/> on <paramref name="server"/>; tests add or override entries.</summary>
    public static Dictionary<string, string> Environment(S3rverServer server, string prefix, string directory, string terminationLog, int metricsPort)
    {
        var env = server.Environment().Where(e => e.Value is not null).ToDictionary(e => e.Key, e => e.Value!);
        env[TrainerEnvironment.CheckpointDirectory] = directory;
        env[TrainerEnvironment.CheckpointUri] = $"s3://{S3rverServer.Bucket}/{prefix}";
        env[TrainerEnvironment.TerminationLog] = terminationLog;
        env[TrainerEnvironment.MetricsPort] = metricsPort.ToString(CultureInfo.InvariantCulture);
        env[TrainerEnvironment.JobNamespace] = "default";
        env[TrainerEnvironment.JobName] = "sync-test";
        env[TrainerEnvironment.JobUid] = "uid-" + prefix;
        env[TrainerEnvironment.Attempt] = "1";
        env[TrainerEnvironment.KeepCheckpoints] = "3";
        env[TrainerEnvironment.ShutdownTimeoutSeconds] = "20";
        return env;
    }

    /// <summary>Starts the sidecar on a fresh directory under <paramref name="scratch"/> (or <paramref name="directory"/>).</summary>
    public static SyncProcess Start(S3rverServer server, string prefix, string scratch, Action<Dictionary<string, string>>? configure = null, string? directory = null)
    {
        var dir = directory ?? Path.Combine(scratch, "checkpoints-" + Guid.NewGuid().ToString("N")[..8]);
        var log = Path.Combine(scratch, "sync-termination-" + Guid.NewGuid().ToString("N")[..8] + ".log");
        var port = FreePort.Next();
        var env = Environment(server, prefix, dir, log, port);
        configure?.Invoke(env);
        return new SyncProcess(ChildProcess.Start("dotnet", [Dll], env, dropInherited: k => k.StartsWith("TRAINER_", StringComparison.Ordinal) || k.StartsWith("AWS_", StringComparison.Ordinal)), dir, log, port);
    }

    /// <summary>Waits for the ready file (the startup probe's condition), failing early when the process exits.</summary>
    public Task WaitReadyAsync(TimeSpan? timeout = null) =>
        Eventually.TrueAsync(() => File.Exists(ReadyFile) || Process.HasExited, timeout ?? TimeSpan.FromSeconds(60), "the ready file")
            .ContinueWith(t =>
            {
                t.GetAwaiter().GetResult();
                Assert.False(Process.HasExited, $"checkpoint-sync exited with {(Process.HasExited ? Process.Process.ExitCode : 0)} before it was ready:\n{Process.Output}");
            }, TaskScheduler.Default);

    /// <summary>SIGTERM, as the kubelet sends a native sidecar once the trainer exited; returns the exit code.</summary>
    public async Task<int> StopAsync(TimeSpan? timeout = null)
    {
        Process.SendSigterm();
        return await Process.WaitForExitAsync(timeout ?? TimeSpan.FromSeconds(60));
    }

    public TerminationMessage ReadTerminationMessage() =>
        TerminationMessage.TryParse(File.Exists(TerminationLog) ? File.ReadAllText(TerminationLog) : null)
            ?? throw new Xunit.Sdk.XunitException($"no termination message in {TerminationLog}\n{Process.Output}");

    public async Task<string> ScrapeAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        return await http.GetStringAsync(new Uri($"http://127.0.0.1:{MetricsPort.ToString(CultureInfo.InvariantCulture)}/metrics"));
    }

    public async ValueTask DisposeAsync() => await Process.DisposeAsync();
}

/// <summary>What a prefix on s3rver holds, read with the store's own client.</summary>
public sealed class RemotePrefix(S3rverServer server, string prefix) : IDisposable
{
    private readonly S3ObjectClient client = new(S3StoreOptions.FromEnvironment($"s3://{S3rverServer.Bucket}/{prefix}", 3, n => server.Environment().GetValueOrDefault(n)));

    public async Task<LatestPointer?> LatestAsync() =>
        await client.GetBytesAsync($"{prefix}/{CheckpointLayout.LatestFileName}", CancellationToken.None) is { } bytes ? RemoteCheckpointDocuments.ParseLatest(bytes) : null;

    public Task<byte[]?> GetAsync(string relative) => client.GetBytesAsync($"{prefix}/{relative}", CancellationToken.None);

    /// <summary>Waits until latest.json names <paramref name="step"/> as the newest checkpoint.</summary>
    public Task<LatestPointer?> WaitCommittedAsync(long step, TimeSpan? timeout = null) =>
        Eventually.GetAsync(LatestAsync, l => l?.Checkpoint == CheckpointLayout.DirectoryName(step), timeout ?? TimeSpan.FromSeconds(60), $"latest.json naming {CheckpointLayout.DirectoryName(step)}");

    public void Dispose() => client.Dispose();
}
