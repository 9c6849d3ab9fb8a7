using K8sTraining.Operator.Runtime;

namespace K8sTraining.Operator.Tests.Runtime;

[Trait("Category", "Integration")]
public sealed class WorkQueueTests
{
    private static WorkQueue NewQueue() => new(TimeProvider.System, TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(1));

    [Fact]
    public async Task GetAsync_Should_HandOutAKeyOnce_When_ItWasAddedManyTimes()
    {
        using var queue = NewQueue();
        queue.Add("ns/a");
        queue.Add("ns/a");
        queue.Add("ns/b");

        var first = await queue.GetAsync(CancellationToken.None);
        var second = await queue.GetAsync(CancellationToken.None);

        Assert.Equal(["ns/a", "ns/b"], new[] { first, second });
        Assert.Equal(0, queue.Length);
    }

    [Fact]
    public async Task GetAsync_Should_NotHandOutAKeyBeingProcessed_When_ItIsAddedAgain()
    {
        using var queue = NewQueue();
        queue.Add("ns/a");
        var key = await queue.GetAsync(CancellationToken.None);

        queue.Add("ns/a");
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await queue.GetAsync(cts.Token));

        queue.Done(key);
        Assert.Equal("ns/a", await queue.GetAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Workers_Should_NeverReconcileOneKeyConcurrently_When_EventsKeepArriving()
    {
        using var queue = NewQueue();
        var active = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        var overlaps = 0;
        var processed = 0;
        using var cts = new CancellationTokenSource();
        var workers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!cts.IsCancellationRequested)
            {
                string key;
                try
                {
                    key = await queue.GetAsync(cts.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                if (active.AddOrUpdate(key, 1, (_, n) => n + 1) > 1)
                {
                    Interlocked.Increment(ref overlaps);
                }

                await Task.Yield();
                active.AddOrUpdate(key, 0, (_, n) => n - 1);
                Interlocked.Increment(ref processed);
                queue.Done(key);
            }
        })).ToList();

        for (var i = 0; i < 2000; i++)
        {
            queue.Add($"ns/job-{i % 3}");
        }

        await Eventually.GetAsync(() => Task.FromResult(queue.Length), n => n == 0, TimeSpan.FromSeconds(10), "the queue to drain");
        await cts.CancelAsync();
        await Task.WhenAll(workers);
        Assert.Equal(0, overlaps);
        Assert.True(processed >= 3);
    }

    [Fact]
    public async Task AddRateLimited_Should_BackOffExponentially_When_AKeyKeepsFailing()
    {
        using var queue = new WorkQueue(TimeProvider.System, TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(350));

        var delays = Enumerable.Range(0, 4).Select(_ => queue.AddRateLimited("ns/a")).ToList();
        queue.Forget("ns/a");

        Assert.Equal([100, 200, 350, 350], delays.Select(d => (int)d.TotalMilliseconds));
        Assert.Equal(100, (int)queue.AddRateLimited("ns/a").TotalMilliseconds);
        Assert.Equal("ns/a", await queue.GetAsync(new CancellationTokenSource(TimeSpan.FromSeconds(5)).Token));
    }
}
