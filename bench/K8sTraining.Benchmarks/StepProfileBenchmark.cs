using System.Globalization;

namespace K8sTraining.Benchmarks;

/// <summary>
/// Where a training step's time goes in process (the TrainStep of TrainingLoop, 1 torch thread, AdamW): tensor creation
/// from the managed batch, forward and loss, backward, optimizer step; GC collections and managed allocations per step;
/// the loop's per-step no-GC region (without it TorchSharp 0.107's AdamW.step crashes in addcdiv_ when a GC finalizes an
/// implicit Scalar in use, as the loop's comment says: seen here too). Knobs: BENCH_PROFILE_RUNS (default 2), BENCH_PROFILE_MODELS (default mlp,cnn,resnet18).
/// </summary>
public sealed class StepProfileBenchmark : IBenchmarkSuite
{
    public string Name => "profile";

    public Task RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var c = CultureInfo.InvariantCulture;
        var runs = int.TryParse(Environment.GetEnvironmentVariable("BENCH_PROFILE_RUNS"), NumberStyles.Integer, c, out var r) && r > 0 ? r : 2;
        (string Model, int Batch, int Warmup, int Steps)[] cases = [("mlp", 64, 50, 400), ("cnn", 128, 5, 40), (BenchModels.ResNet18, 32, 2, 6)];
        Console.WriteLine($"step profile, in process, {runs} run(s) (step ms: median [min-max]; breakdown of the last run):");
        Console.WriteLine("| model | batch | variant | step ms | samples/CPU-s | tensor from array | no-GC region start+end | forward+loss | backward | AdamW step | gen0 GCs/step | gen2 GCs/step | KiB allocated/step |");
        var models = (Environment.GetEnvironmentVariable("BENCH_PROFILE_MODELS") ?? "mlp,cnn,resnet18").Split(',');
        foreach (var (model, batch, warmup, steps) in cases.Where(k => models.Contains(k.Model)))
        {
            var byVariant = Enum.GetValues<StepVariant>().ToDictionary(v => v, _ => new List<HarnessResult>());
            for (var i = 0; i < runs; i++)
            {
                foreach (var (v, l) in byVariant)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    l.Add(StepHarness.Run(model, batch, warmup, steps, 0, null, v));
                }
            }
            foreach (var (variant, list) in byVariant)
            {
                var p = list[^1];
                var total = p.TensorSeconds + p.NoGcRegionSeconds + p.ForwardSeconds + p.BackwardSeconds + p.OptimizerSeconds;
                var stepMs = list.Select(x => x.WallSeconds / x.Steps * 1000).Order().ToList();
                var cpu = list.Select(x => x.SamplesPerCpuSecond).Order().ToList();
                Console.WriteLine($"| {model} | {batch.ToString(c)} | {variant} | {stepMs[stepMs.Count / 2].ToString("F2", c)} [{stepMs[0].ToString("F2", c)}-{stepMs[^1].ToString("F2", c)}] | {cpu[cpu.Count / 2].ToString("F0", c)} | " +
                    $"{Share(p.TensorSeconds, total)} | {Share(p.NoGcRegionSeconds, total)} | {Share(p.ForwardSeconds, total)} | {Share(p.BackwardSeconds, total)} | {Share(p.OptimizerSeconds, total)} | " +
                    $"{(p.Gen0Collections / (double)p.Steps).ToString("F2", c)} | {(p.Gen2Collections / (double)p.Steps).ToString("F2", c)} | {(p.AllocatedBytes / 1024.0 / p.Steps).ToString("F1", c)} |");
            }
        }
        return Task.CompletedTask;
    }

    private static string Share(double part, double total) => (part / total * 100).ToString("F1", CultureInfo.InvariantCulture) + " %";
}
