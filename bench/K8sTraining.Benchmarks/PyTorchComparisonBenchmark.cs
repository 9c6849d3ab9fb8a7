using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace K8sTraining.Benchmarks;

/// <summary>
/// The trainer against PyTorch (Debian's python3-torch) on the same network, batch, optimizer (AdamW) and one thread
/// each, measured alternately in one run: steady-state samples/s and samples per CPU-second (the process's user+system
/// time; on a machine whose cores other programs share, the figure that load does not distort), and their ratios.
/// cnn: the published trainer on Fashion-MNIST against bench/pytorch/cnn_bench.py on the same data in memory.
/// resnet18 at 32x32 (3 channels, small stem, 10 classes): in process on random data against the same in PyTorch.
/// Knobs: BENCH_PYTORCH_RUNS (default 2), BENCH_PYTORCH_CNN_STEPS (30), BENCH_PYTORCH_RESNET_STEPS (3),
/// BENCH_PYTORCH_RESNET_BATCH (32).
/// </summary>
public sealed partial class PyTorchComparisonBenchmark : IBenchmarkSuite
{
    private const int CnnBatch = 128;
    private const int CnnWarmup = 5;
    private const int ResNetWarmup = 1;

    public string Name => "pytorch";

    public async Task RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        Directory.CreateDirectory(context.ScratchDirectory);
        if (await PythonTorch.WhyUnavailableAsync(cancellationToken).ConfigureAwait(false) is { } why)
        {
            Console.WriteLine($"skipped: {why}");
            return;
        }
        var runs = Knob("BENCH_PYTORCH_RUNS", 2);
        var cnnSteps = Knob("BENCH_PYTORCH_CNN_STEPS", 30);
        var resnetSteps = Knob("BENCH_PYTORCH_RESNET_STEPS", 3);
        var resnetBatch = Knob("BENCH_PYTORCH_RESNET_BATCH", 32);
        var dll = Path.Combine(context.PublishDirectory, "trainer", "K8sTraining.Trainer.dll");

        var cnnTrainer = new List<(double Wall, double Cpu)>();
        var cnnTorch = new List<(double Wall, double Cpu)>();
        var resnetSharp = new List<(double Wall, double Cpu)>();
        var resnetTorch = new List<(double Wall, double Cpu)>();
        HarnessResult? resnetProfile = null;
        var torchVersion = "?";
        for (var i = 0; i < runs; i++)
        {
            cnnTrainer.Add(await TrainerCnnAsync(dll, cnnSteps, cancellationToken).ConfigureAwait(false));
            var py = await PythonTorch.MeasureAsync(context.RepositoryRoot, "cnn", CnnBatch, CnnWarmup, cnnSteps, cancellationToken).ConfigureAwait(false);
            cnnTorch.Add((py.SamplesPerSecond, py.SamplesPerCpuSecond));
            torchVersion = py.TorchVersion;
        }
        for (var i = 0; i < runs; i++)
        {
            resnetProfile = await Task.Run(() => StepHarness.Run(BenchModels.ResNet18, resnetBatch, ResNetWarmup, resnetSteps, 0, null), cancellationToken).ConfigureAwait(false);
            resnetSharp.Add((resnetProfile.SamplesPerSecond, resnetProfile.SamplesPerCpuSecond));
            var py = await PythonTorch.MeasureAsync(context.RepositoryRoot, BenchModels.ResNet18, resnetBatch, ResNetWarmup, resnetSteps, cancellationToken).ConfigureAwait(false);
            resnetTorch.Add((py.SamplesPerSecond, py.SamplesPerCpuSecond));
        }

        Console.WriteLine($"samples/s, TorchSharp (libtorch of TorchSharp-cpu 0.107) vs PyTorch {torchVersion} (Debian python3-torch), AdamW, 1 thread each, {runs} run(s) each alternated, median [min-max]:");
        Console.WriteLine("| model | batch | steady steps | trainer samples/s | PyTorch samples/s | ratio | trainer samples/CPU-s | PyTorch samples/CPU-s | ratio (CPU) |");
        Row($"cnn, Fashion-MNIST (published trainer vs cnn_bench.py)", CnnBatch, cnnSteps, cnnTrainer, cnnTorch);
        Row($"resnet18 32x32x3, random data (in process vs cnn_bench.py)", resnetBatch, resnetSteps, resnetSharp, resnetTorch);
        if (resnetProfile is { } p)
        {
            var c = CultureInfo.InvariantCulture;
            var total = p.TensorSeconds + p.ForwardSeconds + p.BackwardSeconds + p.OptimizerSeconds;
            Console.WriteLine($"resnet18 step, last C# run: tensor from array {Percent(p.TensorSeconds, total)}, forward+loss {Percent(p.ForwardSeconds, total)}, backward {Percent(p.BackwardSeconds, total)}, AdamW step {Percent(p.OptimizerSeconds, total)}; gen0 GCs {p.Gen0Collections.ToString(c)}, gen2 {p.Gen2Collections.ToString(c)} in {p.Steps.ToString(c)} steps, {(p.AllocatedBytes / (double)p.Steps / 1024).ToString("F0", c)} KiB managed allocations per step");
        }
    }

    private static void Row(string name, int batch, int steps, List<(double Wall, double Cpu)> sharp, List<(double Wall, double Cpu)> torch)
    {
        var c = CultureInfo.InvariantCulture;
        var (sw, sc) = (Median(sharp.Select(x => x.Wall)), Median(sharp.Select(x => x.Cpu)));
        var (tw, tc) = (Median(torch.Select(x => x.Wall)), Median(torch.Select(x => x.Cpu)));
        var wallRatios = sharp.Zip(torch, (a, b) => a.Wall / b.Wall).ToList();
        var cpuRatios = sharp.Zip(torch, (a, b) => a.Cpu / b.Cpu).ToList();
        Console.WriteLine($"| {name} | {batch.ToString(c)} | {steps.ToString(c)} | {sw.ToString("F1", c)} | {tw.ToString("F1", c)} | {Range(wallRatios)} | {sc.ToString("F1", c)} | {tc.ToString("F1", c)} | {Range(cpuRatios)} |");
    }

    /// <summary>
    /// The published trainer's cnn on Fashion-MNIST, batch 128, AdamW, --threads 1: wall time and the process's CPU time
    /// between the progress lines of global step <see cref="CnnWarmup"/> and <see cref="CnnWarmup"/> + steps, then
    /// SIGTERM (no --checkpoint-dir, so it stops at once).
    /// </summary>
    private static async Task<(double Wall, double Cpu)> TrainerCnnAsync(string dll, int steps, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { dll, "train", "--model", "cnn", "--dataset", "fashion-mnist", "--data", "/usr/share/datasets/fashion-mnist", "--batch-size", CnnBatch.ToString(CultureInfo.InvariantCulture),
            "--epochs", "1", "--optimizer", "adamw", "--threads", "1", "--progress", "log", "--log-every-steps", "1" })
        {
            info.ArgumentList.Add(a);
        }
        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start the trainer");
        var marks = new List<(long Ticks, double Cpu, long Step)>();
        var done = new TaskCompletionSource();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null || GlobalStep().Match(e.Data) is not { Success: true } m)
            {
                return;
            }
            var step = long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            lock (marks)
            {
                if ((marks.Count == 0 && step >= CnnWarmup) || (marks.Count == 1 && step >= marks[0].Step + steps))
                {
                    marks.Add((Stopwatch.GetTimestamp(), CpuSeconds(process.Id), step));
                    if (marks.Count == 2)
                    {
                        done.TrySetResult();
                    }
                }
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await done.Task.WaitAsync(TimeSpan.FromMinutes(15), cancellationToken).ConfigureAwait(false);
        _ = Kill(process.Id, 15);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        var samples = (marks[1].Step - marks[0].Step) * (double)CnnBatch;
        return (samples / Stopwatch.GetElapsedTime(marks[0].Ticks, marks[1].Ticks).TotalSeconds, samples / (marks[1].Cpu - marks[0].Cpu));
    }

    /// <summary>utime + stime of a process from /proc/PID/stat, in seconds.</summary>
    internal static double CpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // After the command: state is field 3, utime field 14, stime field 15 (1-based in proc(5)).
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return ticks / (double)ClockTicksPerSecond;
    }

    private const int ClockTicksPerSecond = 100;

    private static int Knob(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : fallback;

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static string Range(List<double> values)
    {
        var c = CultureInfo.InvariantCulture;
        return values.Count == 1 ? values[0].ToString("F3", c) : $"{Median(values).ToString("F3", c)} [{values.Min().ToString("F3", c)}-{values.Max().ToString("F3", c)}]";
    }

    private static string Percent(double part, double total) => (part / total * 100).ToString("F1", CultureInfo.InvariantCulture) + " %";

    [GeneratedRegex(@"\(global (\d+)/")]
    private static partial Regex GlobalStep();

    [DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);
}
