using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using K8sTraining.Contract;

namespace K8sTraining.Benchmarks;

/// <summary>
/// Data-parallel scaling of the published trainer, side by side in one run: global samples/s of 2 ranks (Gloo on
/// loopback, one torch thread each, the same per-rank batch) against 1 process, alternated 3 times; the scaling
/// efficiency is throughput(2) / (2 x throughput(1)). Knob: TRAINER_BENCH_DP_STEPS (default 600) global steps per run.
/// </summary>
public sealed class DataParallelBenchmark : IBenchmarkSuite
{
    public string Name => "dataparallel";

    public async Task RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        Directory.CreateDirectory(context.ScratchDirectory);
        var c = CultureInfo.InvariantCulture;
        var steps = int.TryParse(Environment.GetEnvironmentVariable("TRAINER_BENCH_DP_STEPS"), out var s) ? s : 600;
        var dll = Path.Combine(context.PublishDirectory, "trainer", "K8sTraining.Trainer.dll");
        foreach (var model in new[] { "mlp", "cnn" })
        {
            const int batch = 64;
            Console.WriteLine($"global samples/s, {model} on synthetic, batch {batch} per rank, 1 torch thread per process, {steps} steps per run, 3 runs each, alternated:");
            var one = new List<double>();
            var two = new List<double>();
            for (var i = 0; i < 3; i++)
            {
                one.Add(await SamplesPerSecondAsync(dll, context, model, batch, world: 1, steps, cancellationToken));
                two.Add(await SamplesPerSecondAsync(dll, context, model, batch, world: 2, steps, cancellationToken));
            }
            var (a, b) = (Median(one), Median(two));
            Console.WriteLine("| processes | samples/s (median) |");
            Console.WriteLine($"| 1 | {a.ToString("F1", c)} |");
            Console.WriteLine($"| 2 ranks (gloo, loopback) | {b.ToString("F1", c)} |");
            Console.WriteLine($"speed-up {(b / a).ToString("F3", c)}; scaling efficiency (2 ranks vs 1): {(b / (2 * a)).ToString("F3", c)}");
            Console.WriteLine();
        }
    }

    /// <summary>Global samples/s from rank 0's CSV log (a row every 10 steps), leaving out the first 50 steps (warm-up and rendezvous).</summary>
    private static async Task<double> SamplesPerSecondAsync(string dll, BenchmarkContext context, string model, int batch, int world, int steps, CancellationToken cancellationToken)
    {
        var dir = Path.Combine(context.ScratchDirectory, $"{model}-{world}-{Guid.NewGuid():N}");
        var globalBatch = batch * world;
        var samples = globalBatch * 64;
        var epochs = (steps + 63) / 64;
        var port = FreePort();
        var processes = new List<Process>();
        for (var rank = 0; rank < world; rank++)
        {
            var rankDir = Path.Combine(dir, $"rank-{rank}");
            var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { dll, "train", "--model", model, "--samples", samples.ToString(CultureInfo.InvariantCulture), "--batch-size", batch.ToString(CultureInfo.InvariantCulture),
                "--epochs", epochs.ToString(CultureInfo.InvariantCulture), "--checkpoint-dir", Path.Combine(rankDir, "checkpoints"), "--checkpoint-every-steps", "0",
                "--log-every-steps", "10", "--log-csv", Path.Combine(rankDir, "log.csv"), "--termination-log", Path.Combine(rankDir, "termination-log"),
                "--progress", "log", "--threads", "1", "--loader-workers", "1" })
            {
                info.ArgumentList.Add(a);
            }
            if (world > 1)
            {
                info.Environment[DistributedEnvironment.WorldSize] = world.ToString(CultureInfo.InvariantCulture);
                info.Environment[DistributedEnvironment.Rank] = rank.ToString(CultureInfo.InvariantCulture);
                info.Environment[DistributedEnvironment.MasterAddress] = "127.0.0.1";
                info.Environment[DistributedEnvironment.MasterPort] = port.ToString(CultureInfo.InvariantCulture);
                info.Environment[DistributedEnvironment.PodIP] = "127.0.0.1";
            }
            var process = Process.Start(info) ?? throw new InvalidOperationException("could not start the trainer");
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            processes.Add(process);
        }
        foreach (var process in processes)
        {
            await process.WaitForExitAsync(cancellationToken);
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"trainer exited {process.ExitCode}");
            }
        }
        var rows = File.ReadLines(Path.Combine(dir, "rank-0", "log.csv")).Skip(1).Select(l => l.Split(',')).ToList();
        double seconds = 0;
        long counted = 0;
        for (var i = 1; i < rows.Count; i++)
        {
            if (rows[i][1] != "step" || rows[i - 1][1] != "step" || long.Parse(rows[i - 1][4], CultureInfo.InvariantCulture) < 50)
            {
                continue;
            }
            seconds += (DateTimeOffset.Parse(rows[i][0], CultureInfo.InvariantCulture) - DateTimeOffset.Parse(rows[i - 1][0], CultureInfo.InvariantCulture)).TotalSeconds;
            counted += long.Parse(rows[i][4], CultureInfo.InvariantCulture) - long.Parse(rows[i - 1][4], CultureInfo.InvariantCulture);
        }
        Directory.Delete(dir, recursive: true);
        return counted * (double)globalBatch / seconds;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
