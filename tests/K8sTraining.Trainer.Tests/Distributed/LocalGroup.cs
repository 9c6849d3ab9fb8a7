using K8sTraining.Contract;
using K8sTraining.Training.Distributed;

namespace K8sTraining.Trainer.Tests.Distributed;

/// <summary>
/// A collective group on loopback inside the test process: one dedicated thread per rank, each with its own rendezvous
/// client and its own engine connection, as separate processes would have. Every rank must finish within a deadline, so
/// a hang fails the test instead of stalling the run.
/// </summary>
internal static class LocalGroup
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    public static CollectiveOptions Options(int rank, int worldSize, int port, TimeSpan? timeout = null) =>
        new(CollectiveBackends.Gloo, rank, worldSize, "127.0.0.1", port, "127.0.0.1", timeout ?? TimeSpan.FromSeconds(10));

    /// <summary>Connects <paramref name="worldSize"/> Gloo ranks and runs <paramref name="body"/> on each; the results by rank.</summary>
    public static T[] Run<T>(int worldSize, Func<ICollective, T> body, TimeSpan? timeout = null)
    {
        var port = FreePort.Next();
        return RunRanks(worldSize, rank =>
        {
            using var collective = CollectiveFactory.Connect(Options(rank, worldSize, port, timeout), CancellationToken.None);
            return body(collective);
        });
    }

    /// <summary>Runs <paramref name="body"/> for every rank on its own thread; rethrows the first rank's failure.</summary>
    public static T[] RunRanks<T>(int worldSize, Func<int, T> body)
    {
        var outcomes = RunRanksCatching(worldSize, body);
        var failed = outcomes.Select((o, rank) => (o, rank)).Where(x => x.o.Error is not null).ToList();
        if (failed.Count > 0)
        {
            throw new AggregateException(
                $"rank(s) {string.Join(", ", failed.Select(f => f.rank))} failed: {string.Join(" | ", failed.Select(f => f.o.Error!.Message))}",
                failed.Select(f => f.o.Error!));
        }

        return outcomes.Select(o => o.Value!).ToArray();
    }

    /// <summary>Runs <paramref name="body"/> for every rank on its own thread, keeping each rank's result or exception.</summary>
    public static (T? Value, Exception? Error, TimeSpan Elapsed)[] RunRanksCatching<T>(int worldSize, Func<int, T> body)
    {
        var outcomes = new (T? Value, Exception? Error, TimeSpan Elapsed)[worldSize];
        var threads = Enumerable.Range(0, worldSize).Select(rank => new Thread(() =>
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            try
            {
                outcomes[rank] = (body(rank), null, clock.Elapsed);
            }
            catch (Exception e)
            {
                outcomes[rank] = (default, e, clock.Elapsed);
            }
        })
        { IsBackground = true, Name = $"rank-{rank}" }).ToList();

        threads.ForEach(t => t.Start());
        var deadline = DateTime.UtcNow + Deadline;
        foreach (var (thread, rank) in threads.Select((t, r) => (t, r)))
        {
            var left = deadline - DateTime.UtcNow;
            Assert.True(thread.Join(left > TimeSpan.Zero ? left : TimeSpan.Zero), $"rank {rank} of {worldSize} did not finish within {Deadline.TotalSeconds} s: a collective hangs");
        }

        return outcomes;
    }
}
