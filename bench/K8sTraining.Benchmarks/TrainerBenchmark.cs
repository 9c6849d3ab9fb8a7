using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;
using K8sTraining.Training.Loop;
using Microsoft.Extensions.Logging.Abstractions;

namespace K8sTraining.Benchmarks;

/// <summary>
/// The trainer, side by side in one run: steps/s with and without periodic checkpoints (the stall), checkpoint write
/// MB/s against a plain sequential write of the same bytes to the same disk, SIGTERM-to-exit seconds, RSS at step
/// 1,000 and 10,000. Knob: TRAINER_BENCH_STEPS (default 3000) for the throughput runs.
/// </summary>
public sealed partial class TrainerBenchmark : IBenchmarkSuite
{
    public string Name => "trainer";

    public async Task RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        Directory.CreateDirectory(context.ScratchDirectory);
        var c = CultureInfo.InvariantCulture;
        var steps = int.TryParse(Environment.GetEnvironmentVariable("TRAINER_BENCH_STEPS"), out var s) ? s : 3000;

        var dll = Path.Combine(context.PublishDirectory, "trainer", "K8sTraining.Trainer.dll");

        // 1. Throughput of the published trainer with and without periodic checkpoints, alternated so background load
        // hits both alike.
        Console.WriteLine($"steps/s, mlp on synthetic, batch 64, 1 torch thread, {steps} steps per run, 3 runs each, alternated:");
        var plain = new List<double>();
        var checkpointed = new List<double>();
        for (var i = 0; i < 3; i++)
        {
            plain.Add(await StepsPerSecondAsync(dll, context, steps, checkpointEvery: 0, cancellationToken));
            checkpointed.Add(await StepsPerSecondAsync(dll, context, steps, checkpointEvery: 50, cancellationToken));
        }
        var (p, k) = (Median(plain), Median(checkpointed));
        Console.WriteLine($"| run | steps/s (median) |");
        Console.WriteLine($"| no periodic checkpoints | {p.ToString("F1", c)} |");
        Console.WriteLine($"| checkpoint every 50 steps | {k.ToString("F1", c)} |");
        Console.WriteLine($"stall: {((p - k) / p * 100).ToString("F2", c)} % (ratio {(k / p).ToString("F3", c)})");
        Console.WriteLine();

        // 2. Checkpoint write vs a plain sequential write of the same bytes to the same disk.
        var (checkpointMbps, plainMbps, bytes) = WriteThroughput(context);
        Console.WriteLine($"checkpoint write ({(bytes / 1e6).ToString("F2", c)} MB each, mlp + AdamW state, 20 writes; temp dir, fsync per file, sha256, manifest, rename, dir fsync):");
        Console.WriteLine($"| write | MB/s |");
        Console.WriteLine($"| checkpoint (LocalCheckpointStore) | {checkpointMbps.ToString("F1", c)} |");
        Console.WriteLine($"| plain sequential write + fsync, same bytes, same directory | {plainMbps.ToString("F1", c)} |");
        Console.WriteLine($"ratio checkpoint/plain: {(checkpointMbps / plainMbps).ToString("F3", c)}");
        Console.WriteLine();

        // 3. and 4. SIGTERM and RSS, on the published trainer as it runs in a pod.
        foreach (var model in new[] { "mlp", "cnn" })
        {
            var seconds = new List<double>();
            for (var i = 0; i < 3; i++)
            {
                seconds.Add(await SigtermToExitAsync(dll, context, model, cancellationToken));
            }
            Console.WriteLine($"SIGTERM -> exit ({model}, synthetic, checkpoint written on the signal): median {Median(seconds).ToString("F3", c)} s, max {seconds.Max().ToString("F3", c)} s (grace period 30 s)");
        }
        Console.WriteLine();
        var rss = await RssAtStepsAsync(dll, context, [1_000, 10_000], cancellationToken);
        Console.WriteLine("RSS of the trainer process (mlp, synthetic, batch 16):");
        Console.WriteLine("| global step | RSS MiB |");
        foreach (var (step, kib) in rss)
        {
            Console.WriteLine($"| {step} | {(kib / 1024.0).ToString("F1", c)} |");
        }
        if (rss.Count == 2)
        {
            Console.WriteLine($"ratio RSS@10000 / RSS@1000: {((double)rss[1].Kib / rss[0].Kib).ToString("F3", c)}");
        }
    }

    /// <summary>
    /// Runs the published trainer and derives steps/s from its CSV log (a timestamped row every 10 steps), leaving out
    /// the first 100 steps (warm-up) and every interval that contains an epoch-end evaluation.
    /// </summary>
    private static async Task<double> StepsPerSecondAsync(string dll, BenchmarkContext context, int steps, int checkpointEvery, CancellationToken cancellationToken)
    {
        var dir = Path.Combine(context.ScratchDirectory, $"throughput-{Guid.NewGuid():N}");
        const int samples = 4096;
        const int batch = 64;
        var csv = Path.Combine(dir, "log.csv");
        var epochs = (steps + (samples / batch) - 1) / (samples / batch);
        using var process = StartTrainer(dll, ["--model", "mlp", "--samples", samples.ToString(CultureInfo.InvariantCulture), "--batch-size", batch.ToString(CultureInfo.InvariantCulture),
            "--epochs", epochs.ToString(CultureInfo.InvariantCulture), "--checkpoint-dir", Path.Combine(dir, "checkpoints"), "--checkpoint-every-steps", checkpointEvery.ToString(CultureInfo.InvariantCulture),
            "--keep-checkpoints", "2", "--log-every-steps", "10", "--log-csv", csv, "--termination-log", Path.Combine(dir, "termination-log")]);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"trainer exited {process.ExitCode}");
        }
        var rows = File.ReadLines(csv).Skip(1).Select(l => l.Split(',')).ToList();
        double seconds = 0;
        long counted = 0;
        for (var i = 1; i < rows.Count; i++)
        {
            if (rows[i][1] != "step" || rows[i - 1][1] != "step" || long.Parse(rows[i - 1][4], CultureInfo.InvariantCulture) < 100)
            {
                continue;
            }
            seconds += (DateTimeOffset.Parse(rows[i][0], CultureInfo.InvariantCulture) - DateTimeOffset.Parse(rows[i - 1][0], CultureInfo.InvariantCulture)).TotalSeconds;
            counted += long.Parse(rows[i][4], CultureInfo.InvariantCulture) - long.Parse(rows[i - 1][4], CultureInfo.InvariantCulture);
        }
        Directory.Delete(dir, recursive: true);
        return counted / seconds;
    }

    private static (double CheckpointMbps, double PlainMbps, long Bytes) WriteThroughput(BenchmarkContext context)
    {
        var dir = Path.Combine(context.ScratchDirectory, "write");
        Directory.CreateDirectory(dir);
        var snapshot = CaptureMlpSnapshot();
        var store = new LocalCheckpointStore(Path.Combine(dir, "checkpoints"), 2, NullLogger.Instance);
        const int writes = 20;
        double checkpointSeconds = 0, plainSeconds = 0;
        for (var i = 0; i < writes; i++)
        {
            // Alternate so both see the same disk state and background load.
            var sw = Stopwatch.StartNew();
            store.Write(snapshot with { GlobalStep = i + 1 });
            checkpointSeconds += sw.Elapsed.TotalSeconds;

            sw.Restart();
            var path = Path.Combine(dir, $"plain-{i}.bin");
            using (var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                foreach (var (_, content) in snapshot.Files)
                {
                    stream.Write(content);
                }
                stream.Flush(flushToDisk: true);
            }
            plainSeconds += sw.Elapsed.TotalSeconds;
            File.Delete(path);
        }
        var total = snapshot.TotalBytes * (double)writes;
        return (total / 1e6 / checkpointSeconds, total / 1e6 / plainSeconds, snapshot.TotalBytes);
    }

    private static CheckpointSnapshot CaptureMlpSnapshot()
    {
        TorchSharp.torch.manual_seed(1);
        using var model = BenchModels.Create(ModelNames.Mlp);
        using var optimizer = TorchSharp.torch.optim.AdamW(model.parameters(), 0.001);
        using (var scope = TorchSharp.torch.NewDisposeScope())
        {
            // One step so AdamW has its moment buffers, as in a real checkpoint.
            optimizer.zero_grad();
            var loss = TorchSharp.torch.nn.functional.cross_entropy(model.forward(TorchSharp.torch.randn(8, 1, 28, 28)), TorchSharp.torch.zeros(8, TorchSharp.torch.ScalarType.Int64));
            loss.backward();
            optimizer.step();
        }
        var state = new TrainingState { Configuration = new TrainingConfiguration("mlp", "synthetic", 1, 1, 8, "adamw", 0.001, 1) };
        return CheckpointCodec.Capture(model, optimizer, state);
    }

    private static async Task<double> SigtermToExitAsync(string dll, BenchmarkContext context, string model, CancellationToken cancellationToken)
    {
        var dir = Path.Combine(context.ScratchDirectory, $"sigterm-{Guid.NewGuid():N}");
        using var process = StartTrainer(dll, ["--model", model, "--samples", "8192", "--epochs", "100", "--batch-size", "64", "--checkpoint-dir", dir, "--checkpoint-every-steps", "0", "--log-every-steps", "10", "--termination-log", Path.Combine(dir, "termination-log")]);
        var reached = new TaskCompletionSource();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null && GlobalStep().Match(e.Data) is { Success: true } m && long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) >= 20)
            {
                reached.TrySetResult();
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await reached.Task.WaitAsync(TimeSpan.FromMinutes(5), cancellationToken);
        var sw = Stopwatch.StartNew();
        _ = Kill(process.Id, 15);
        await process.WaitForExitAsync(cancellationToken);
        var seconds = sw.Elapsed.TotalSeconds;
        if (process.ExitCode != 75)
        {
            throw new InvalidOperationException($"trainer exited {process.ExitCode} after SIGTERM, expected 75");
        }
        Directory.Delete(dir, recursive: true);
        return seconds;
    }

    private static async Task<List<(long Step, long Kib)>> RssAtStepsAsync(string dll, BenchmarkContext context, long[] marks, CancellationToken cancellationToken)
    {
        var dir = Path.Combine(context.ScratchDirectory, "rss");
        using var process = StartTrainer(dll, ["--model", "mlp", "--samples", "2048", "--epochs", "100", "--batch-size", "16", "--checkpoint-dir", dir, "--checkpoint-every-steps", "500", "--log-every-steps", "100", "--termination-log", Path.Combine(dir, "termination-log")]);
        var results = new List<(long, long)>();
        var done = new TaskCompletionSource();
        var next = 0;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null || next >= marks.Length || GlobalStep().Match(e.Data) is not { Success: true } m)
            {
                return;
            }
            var step = long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            if (step >= marks[next])
            {
                results.Add((step, ReadRssKib(process.Id)));
                if (++next == marks.Length)
                {
                    done.TrySetResult();
                }
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await done.Task.WaitAsync(TimeSpan.FromMinutes(15), cancellationToken);
        _ = Kill(process.Id, 15);
        await process.WaitForExitAsync(cancellationToken);
        return results;
    }

    private static Process StartTrainer(string dll, string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(dll);
        info.ArgumentList.Add("train");
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }
        info.ArgumentList.Add("--progress");
        info.ArgumentList.Add("log");
        info.ArgumentList.Add("--threads");
        info.ArgumentList.Add("1");
        return Process.Start(info) ?? throw new InvalidOperationException("could not start the trainer");
    }

    private static long ReadRssKib(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    [GeneratedRegex(@"\(global (\d+)/")]
    private static partial Regex GlobalStep();

    [DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);
}
