using System.Globalization;

namespace K8sTraining.Benchmarks;

/// <summary>
/// What a periodic checkpoint costs the training thread, for mlp, cnn and resnet18 (32x32, small stem), in process:
/// runs with a checkpoint every N steps and without, alternated. Per checkpoint: the capture (the snapshot taken on the
/// training thread, CheckpointCodec.Capture) and the wait for the previous write still in flight (CheckpointWriter);
/// the stall at every 50 steps is their sum over 50 steps of training, and for mlp and cnn also the measured throughput
/// ratio. resnet18 checkpoints every 5 steps to get several checkpoints in a bounded run; its stall is still given per
/// 50 steps. Knobs: BENCH_STALL_RUNS (default 2), BENCH_STALL_MODELS (default mlp,cnn,resnet18).
/// </summary>
public sealed class CheckpointStallBenchmark : IBenchmarkSuite
{
    private sealed record Case(string Model, int Batch, int Warmup, int Steps, int Every);

    public string Name => "stall";

    public Task RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        Directory.CreateDirectory(context.ScratchDirectory);
        var c = CultureInfo.InvariantCulture;
        var runs = int.TryParse(Environment.GetEnvironmentVariable("BENCH_STALL_RUNS"), NumberStyles.Integer, c, out var r) && r > 0 ? r : 2;
        Case[] cases =
        [
            new("mlp", 64, 100, 1000, 50),
            new("cnn", 64, 10, 200, 50),
            new(BenchModels.ResNet18, 32, 2, 10, 5),
        ];
        Console.WriteLine($"checkpoint stall, in process (1 torch thread, AdamW, random data; LocalCheckpointStore with fsync; {runs} run(s) each, alternated; median [min-max]):");
        Console.WriteLine("| model | batch | step ms | checkpoint MB | capture ms | wait ms | stall per 50 steps | samples/s with / without (measured) |");
        var models = (Environment.GetEnvironmentVariable("BENCH_STALL_MODELS") ?? "mlp,cnn,resnet18").Split(',');
        foreach (var k in cases.Where(k => models.Contains(k.Model)))
        {
            var stalls = new List<double>();
            var ratios = new List<double>();
            var captures = new List<double>();
            var waits = new List<double>();
            var stepMs = new List<double>();
            double megabytes = 0;
            for (var i = 0; i < runs; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var plain = StepHarness.Run(k.Model, k.Batch, k.Warmup, k.Steps, 0, null);
                var dir = Path.Combine(context.ScratchDirectory, $"{k.Model}-{i}");
                var checkpointed = StepHarness.Run(k.Model, k.Batch, k.Warmup, k.Steps, k.Every, dir);
                megabytes = DirectoryBytes(dir) / 1e6 / Math.Max(1, Directory.GetDirectories(dir).Length);
                Directory.Delete(dir, recursive: true);
                var step = plain.WallSeconds / plain.Steps;
                var perCheckpoint = (checkpointed.CaptureSeconds + checkpointed.WaitSeconds) / checkpointed.Checkpoints;
                stepMs.Add(step * 1000);
                captures.Add(checkpointed.CaptureSeconds / checkpointed.Checkpoints * 1000);
                waits.Add(checkpointed.WaitSeconds / checkpointed.Checkpoints * 1000);
                stalls.Add(perCheckpoint / (perCheckpoint + (50 * step)) * 100);
                ratios.Add(checkpointed.SamplesPerSecond / plain.SamplesPerSecond);
            }
            var measured = k.Every == 50 ? Range(ratios, "F3") : $"n/a (every {k.Every.ToString(c)})";
            Console.WriteLine($"| {k.Model} | {k.Batch.ToString(c)} | {Range(stepMs, "F1")} | {megabytes.ToString("F1", c)} | {Range(captures, "F1")} | {Range(waits, "F1")} | {Range(stalls, "F2")} % | {measured} |");
        }
        return Task.CompletedTask;
    }

    private static long DirectoryBytes(string dir) =>
        new DirectoryInfo(dir).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);

    private static string Range(List<double> values, string format)
    {
        var c = CultureInfo.InvariantCulture;
        var sorted = values.Order().ToList();
        var median = sorted[sorted.Count / 2];
        return sorted.Count == 1 ? median.ToString(format, c) : $"{median.ToString(format, c)} [{sorted[0].ToString(format, c)}-{sorted[^1].ToString(format, c)}]";
    }
}
