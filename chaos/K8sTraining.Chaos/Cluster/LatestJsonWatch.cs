using System.Collections.Concurrent;
using System.Text.Json;
using K8sTraining.Chaos.Storage;
using K8sTraining.Contract;

namespace K8sTraining.Chaos.Cluster;

/// <summary>
/// Polls a prefix's latest.json in s3rver's data directory every 20 ms and keeps the attempts that committed it, in
/// order, and the newest step each committed: what a reader of the bucket could have seen (fencing's evidence).
/// </summary>
public sealed class LatestJsonWatch : IAsyncDisposable
{
    private readonly CancellationTokenSource stop = new();
    private readonly ChaosS3 s3;
    private readonly string prefix;
    private readonly Task loop;
    private readonly ConcurrentQueue<int> attempts = new();

    public LatestJsonWatch(ChaosS3 s3, string prefix)
    {
        this.s3 = s3;
        this.prefix = prefix;
        loop = Task.Run(RunAsync);
    }

    /// <summary>Every change of the committing attempt seen, in order (consecutive repeats folded).</summary>
    public IReadOnlyList<int> Attempts => [.. attempts];

    public ConcurrentDictionary<int, long> NewestStep { get; } = new();

    /// <summary>latest.json as it is now, or null while there is none (or it is being rewritten).</summary>
    public LatestPointer? Now()
    {
        try
        {
            var file = s3.ObjectPath($"{prefix}/{CheckpointLayout.LatestFileName}");
            return File.Exists(file) ? JsonSerializer.Deserialize<LatestPointer>(File.ReadAllBytes(file)) : null;
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            return null;
        }
    }

    private async Task RunAsync()
    {
        var last = 0;
        while (!stop.IsCancellationRequested)
        {
            if (Now() is { Attempt: { } attempt } pointer)
            {
                if (attempt != last)
                {
                    attempts.Enqueue(attempt);
                    last = attempt;
                }
                NewestStep.AddOrUpdate(attempt, pointer.GlobalStep, (_, v) => Math.Max(v, pointer.GlobalStep));
            }
            try
            {
                await Task.Delay(20, stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!stop.IsCancellationRequested)
        {
            await stop.CancelAsync();
            await loop;
        }
        stop.Dispose();
    }
}
