using System.Globalization;
using System.Net;
using System.Net.Sockets;
using K8sTraining.Contract;
using K8sTraining.Trainer.Tests.Support;
using K8sTraining.Training.Resume;

namespace K8sTraining.Trainer.Tests.Distributed;

/// <summary>
/// The ranks of one data-parallel job on loopback: each rank a real trainer process with its own scratch directory
/// (checkpoints, output, termination log, sample trace), all in one rendezvous on a free port.
/// </summary>
public sealed class RankGroup : IDisposable
{
    // 15 global batches of 16 and one of a single sample: rank 1 steps with an empty slice at every epoch's end.
    public const int Samples = 241;
    public const int PerRankBatch = 8;

    private readonly List<TrainerProcess> _processes = [];

    public RankGroup(int maxWorld)
    {
        Runs = Enumerable.Range(0, maxWorld).Select(_ => new TrainerRun()).ToList();
    }

    /// <summary>One scratch directory per rank; rank 0's holds the checkpoints the job resumes from.</summary>
    public IReadOnlyList<TrainerRun> Runs { get; }

    public IReadOnlyList<TrainerProcess> Processes => _processes;

    public string TracePath(int rank) => Path.Combine(Runs[rank].Directory, "sample-trace");

    /// <summary>Starts <paramref name="world"/> ranks (world 1: the single-process trainer, no WORLD_SIZE at all).</summary>
    public IReadOnlyList<TrainerProcess> Start(int world, int stepDelayMs, params string[] overrides)
    {
        foreach (var p in _processes)
        {
            p.Dispose();
        }
        _processes.Clear();
        var port = FreePort();
        for (var rank = 0; rank < world; rank++)
        {
            var environment = new Dictionary<string, string>
            {
                [SampleTrace.EnvironmentVariable] = TracePath(rank),
                ["K8STRAINING_TEST_STEP_DELAY_MS"] = stepDelayMs.ToString(CultureInfo.InvariantCulture),
            };
            if (world > 1)
            {
                environment[DistributedEnvironment.WorldSize] = world.ToString(CultureInfo.InvariantCulture);
                environment[DistributedEnvironment.Rank] = rank.ToString(CultureInfo.InvariantCulture);
                environment[DistributedEnvironment.MasterAddress] = "127.0.0.1";
                environment[DistributedEnvironment.MasterPort] = port.ToString(CultureInfo.InvariantCulture);
                environment[DistributedEnvironment.PodIP] = "127.0.0.1";
            }
            _processes.Add(TrainerProcess.Start(Args(rank, overrides), environment));
        }
        return _processes;
    }

    /// <summary>Runs <paramref name="world"/> ranks to their end; their exit codes by rank.</summary>
    public async Task<int[]> RunAsync(int world, params string[] overrides)
    {
        Start(world, 0, overrides);
        return await WaitAllAsync(TimeSpan.FromSeconds(120));
    }

    public async Task<int[]> WaitAllAsync(TimeSpan timeout) =>
        await Task.WhenAll(_processes.Select(p => p.WaitForExitAsync(timeout)));

    public string Logs() => string.Join("\n", _processes.Select((p, r) => $"--- rank {r} ---\n{p.Stdout}\n{p.Stderr}"));

    public IReadOnlyList<string> Args(int rank, params string[] overrides) => Runs[rank].Args([
        "--samples", Samples.ToString(CultureInfo.InvariantCulture),
        "--batch-size", PerRankBatch.ToString(CultureInfo.InvariantCulture),
        "--checkpoint-every-steps", "0",
        "--loader-workers", "1",
        "--dist-timeout-seconds", "60",
        .. overrides]);

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            p.Dispose();
        }
        foreach (var run in Runs)
        {
            run.Dispose();
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
