using System.Diagnostics;
using K8sTraining.Training.Checkpoints;
using K8sTraining.Training.Loop;
using Microsoft.Extensions.Logging.Abstractions;
using System.Runtime.InteropServices;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace K8sTraining.Benchmarks;

/// <summary>How the step copies the batch in and guards against GCs.</summary>
internal enum StepVariant
{
    /// <summary>As TrainingLoop.TrainStep did before: torch.tensor(array) (a managed copy), a no-GC region started and ended per step.</summary>
    PerStepRegion,

    /// <summary>The batch copied straight into a native tensor; a no-GC region per step, without a full blocking GC to start it.</summary>
    NoFullBlocking,

    /// <summary>As TrainingLoop.TrainStep does now (NoGcRegion): the batch copied straight into a native tensor; one no-GC region held across steps, renewed only when lost.</summary>
    HeldRegion,
}

/// <summary>What one in-process run measured: its steady-state steps (warm-up left out) and where their time went.</summary>
internal sealed record HarnessResult(
    string Model,
    int BatchSize,
    int Steps,
    double WallSeconds,
    double CpuSeconds,
    double TensorSeconds,
    double ForwardSeconds,
    double BackwardSeconds,
    double OptimizerSeconds,
    double NoGcRegionSeconds,
    double CaptureSeconds,
    double WaitSeconds,
    int Checkpoints,
    int Gen0Collections,
    int Gen2Collections,
    long AllocatedBytes)
{
    public double SamplesPerSecond => Steps * (double)BatchSize / WallSeconds;

    public double SamplesPerCpuSecond => Steps * (double)BatchSize / CpuSeconds;

    /// <summary>Share of the wall time the training thread spent capturing snapshots and waiting for the write in flight.</summary>
    public double StallFraction => (CaptureSeconds + WaitSeconds) / WallSeconds;
}

/// <summary>
/// Trains a model in this process the way TrainingLoop.TrainStep does (a dispose scope per step, the batch copied from a
/// managed array into a tensor, AdamW, the loop's GC handling) on a pool of random samples, optionally with the loop's
/// periodic background checkpoint (CheckpointCodec.Capture on this thread, then CheckpointWriter), and times each part.
/// </summary>
internal static class StepHarness
{
    private const int PoolBatches = 8;

    /// <summary>Mirrors TrainingLoop's constants: the per-step no-GC region and the collection every 100 steps.</summary>
    private const long NoGcBudgetBytes = 32L * 1024 * 1024;
    private const long FinalizeEverySteps = 100;

    public static HarnessResult Run(string modelName, int batchSize, int warmupSteps, int steps, int checkpointEvery, string? checkpointDirectory, StepVariant variant = StepVariant.HeldRegion)
    {
        torch.set_num_threads(1);
        torch.manual_seed(42);
        using var model = BenchModels.Create(modelName);
        using var optimizer = optim.AdamW(model.parameters(), 0.001);
        model.train();
        var shape = BenchModels.SampleShape(modelName);
        var perSample = (int)(shape[0] * shape[1] * shape[2]);
        var random = new Random(42);
        var pool = new float[PoolBatches * batchSize * perSample];
        for (var i = 0; i < pool.Length; i++)
        {
            pool[i] = (float)((random.NextDouble() * 2) - 1);
        }
        var poolLabels = Enumerable.Range(0, PoolBatches * batchSize).Select(_ => (long)random.Next(10)).ToArray();
        var pixels = new float[batchSize * perSample];
        var labels = new long[batchSize];
        long[] inputShape = [batchSize, shape[0], shape[1], shape[2]];

        CheckpointWriter? writer = null;
        if (checkpointEvery > 0)
        {
            var store = new LocalCheckpointStore(checkpointDirectory!, 2, NullLogger.Instance);
            store.EnsureUsable();
            writer = new CheckpointWriter(store, (_, _) => { });
        }
        var state = new TrainingState
        {
            Configuration = new TrainingConfiguration(modelName, "synthetic", 1, 1, batchSize, "adamw", 0.001, 42),
        };

        var clocks = new double[5];
        double capture = 0, wait = 0;
        var checkpoints = 0;
        var wall = new Stopwatch();
        TimeSpan cpuStart = default;
        int gen0 = 0, gen2 = 0;
        long allocated = 0;
        for (var step = 0; step < warmupSteps + steps; step++)
        {
            if (step == warmupSteps)
            {
                Array.Clear(clocks);
                (capture, wait, checkpoints) = (0, 0, 0);
                gen0 = GC.CollectionCount(0);
                gen2 = GC.CollectionCount(2);
                allocated = GC.GetAllocatedBytesForCurrentThread();
                cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
                wall.Start();
            }
            var offset = step % PoolBatches * batchSize;
            pool.AsSpan(offset * perSample, batchSize * perSample).CopyTo(pixels);
            poolLabels.AsSpan(offset, batchSize).CopyTo(labels);
            Step(model, optimizer, pixels, labels, inputShape, clocks, variant);
            state.GlobalStep++;
            state.StepInEpoch++;
            if (state.GlobalStep % FinalizeEverySteps == 0)
            {
                EndRegion();
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
            if (writer is not null && state.GlobalStep % checkpointEvery == 0)
            {
                // As in the loop: captured inside the held region (a capture larger than its budget ends it with a GC).
                var started = Stopwatch.GetTimestamp();
                var snapshot = CheckpointCodec.Capture(model, optimizer, state);
                var captured = Stopwatch.GetTimestamp();
                writer.StartBackgroundWrite(snapshot);
                capture += Stopwatch.GetElapsedTime(started, captured).TotalSeconds;
                wait += Stopwatch.GetElapsedTime(captured).TotalSeconds;
                checkpoints++;
            }
        }
        wall.Stop();
        EndRegion();
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuStart).TotalSeconds;
        var result = new HarnessResult(modelName, batchSize, steps, wall.Elapsed.TotalSeconds, cpu, clocks[0], clocks[1], clocks[2], clocks[3], clocks[4], capture, wait, checkpoints,
            GC.CollectionCount(0) - gen0, GC.CollectionCount(2) - gen2, GC.GetAllocatedBytesForCurrentThread() - allocated);
        writer?.WaitForInFlight();
        return result;
    }

    private static long _allocatedAtRegionStart;

    // As NoGcRegion.EnsureEntered in the loop: keep the region, renew it when lost or half its budget is used.
    private static bool HoldRegion()
    {
        if (System.Runtime.GCSettings.LatencyMode == System.Runtime.GCLatencyMode.NoGCRegion && GC.GetTotalAllocatedBytes() - _allocatedAtRegionStart < NoGcBudgetBytes / 2)
        {
            return true;
        }
        EndRegion();
        _allocatedAtRegionStart = GC.GetTotalAllocatedBytes();
        return GC.TryStartNoGCRegion(NoGcBudgetBytes);
    }

    private static void EndRegion()
    {
        try
        {
            GC.EndNoGCRegion();
        }
        catch (InvalidOperationException)
        {
            // Not in a region, or a GC ended it.
        }
    }

    private static void Step(nn.Module<Tensor, Tensor> model, OptimizerHelper optimizer, float[] pixels, long[] labels, long[] inputShape, double[] clocks, StepVariant variant)
    {
        var t0 = Stopwatch.GetTimestamp();
        using var scope = NewDisposeScope();
        Tensor input, target;
        if (variant == StepVariant.PerStepRegion)
        {
            input = torch.tensor(pixels, inputShape);
            target = torch.tensor(labels);
        }
        else
        {
            input = torch.empty(inputShape);
            input.bytes = MemoryMarshal.AsBytes(pixels.AsSpan());
            target = torch.empty([labels.Length], ScalarType.Int64);
            target.bytes = MemoryMarshal.AsBytes(labels.AsSpan());
        }
        var tGc = Stopwatch.GetTimestamp();
        var noGc = variant switch
        {
            StepVariant.HeldRegion => HoldRegion(),
            StepVariant.NoFullBlocking => GC.TryStartNoGCRegion(NoGcBudgetBytes, disallowFullBlockingGC: true),
            _ => GC.TryStartNoGCRegion(NoGcBudgetBytes),
        };
        clocks[4] += Stopwatch.GetElapsedTime(tGc).TotalSeconds;
        try
        {
            var t1 = Stopwatch.GetTimestamp();
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.forward(input), target);
            var t2 = Stopwatch.GetTimestamp();
            loss.backward();
            var t3 = Stopwatch.GetTimestamp();
            optimizer.step();
            _ = loss.item<float>();
            var t4 = Stopwatch.GetTimestamp();
            clocks[0] += Stopwatch.GetElapsedTime(t0, tGc).TotalSeconds;
            clocks[1] += Stopwatch.GetElapsedTime(t1, t2).TotalSeconds;
            clocks[2] += Stopwatch.GetElapsedTime(t2, t3).TotalSeconds;
            clocks[3] += Stopwatch.GetElapsedTime(t3, t4).TotalSeconds;
        }
        finally
        {
            var tEnd = Stopwatch.GetTimestamp();
            if (noGc && variant != StepVariant.HeldRegion && System.Runtime.GCSettings.LatencyMode == System.Runtime.GCLatencyMode.NoGCRegion)
            {
                try
                {
                    GC.EndNoGCRegion();
                }
                catch (InvalidOperationException)
                {
                }
            }
            clocks[4] += Stopwatch.GetElapsedTime(tEnd).TotalSeconds;
        }
    }
}
