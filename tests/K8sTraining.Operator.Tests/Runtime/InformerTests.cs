using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Runtime;
using K8sTraining.Operator.Tests.Integration;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace K8sTraining.Operator.Tests.Runtime;

[Trait("Category", "Integration")]
public sealed class InformerTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task List_Should_CacheEveryOtherJob_When_OneItemCannotBeDecoded()
    {
        var source = new FakeListWatch(Job("good-1", "11"), BadJob("bad", "12", generation: 3), Job("good-2", "13"));
        var informer = NewInformer(source);
        using var run = new Run(informer);

        await informer.Synced.WaitAsync(Deadline);

        Assert.Equal(["ns/good-1", "ns/good-2"], informer.Items.Select(j => j.Key).Order());
        var bad = Assert.Single(informer.Undecodable);
        Assert.Equal(("ns", "bad", "uid-bad", 3L), (bad.Namespace, bad.Name, bad.Uid, bad.Generation!.Value));
        Assert.Contains("spec.tolerations[0].tolerationSeconds", bad.Problem, StringComparison.Ordinal);
        Assert.Null(informer.ListProblem);
    }

    [Fact]
    public async Task Watch_Should_SetAJobAsideAndTakeItBack_When_ItStopsAndStartsDecoding()
    {
        var source = new FakeListWatch(Job("a", "11"));
        source.Watches.Enqueue([
            (WatchEventType.Modified, BadJob("a", "12", generation: 2)),
            (WatchEventType.Added, Job("b", "13")),
            (WatchEventType.Modified, Job("a", "14")),
        ]);
        var informer = NewInformer(source);
        var undecodableChanges = new ConcurrentQueue<(string, UndecodableObject?)>();
        informer.UndecodableChanged += (key, bad) => undecodableChanges.Enqueue((key, bad));
        using var run = new Run(informer);

        await Eventually.GetAsync(() => Task.FromResult(informer.Get("ns/a")?.Metadata.ResourceVersion), rv => rv == "14", Deadline, "job a to decode again");

        Assert.NotNull(informer.Get("ns/b"));
        Assert.Empty(informer.Undecodable);
        Assert.Equal([("ns/a", true), ("ns/a", false)], undecodableChanges.Select(c => (c.Item1, c.Item2 is not null)));
        Assert.Equal(1, source.Lists);
    }

    [Fact]
    public async Task Watch_Should_ResumeFromTheBookmarkWithoutRelisting_When_WatchesCarryBookmarks()
    {
        var source = new FakeListWatch(Job("a", "11"));
        for (var i = 0; i < 5; i++)
        {
            source.Watches.Enqueue([(WatchEventType.Bookmark, Bookmark($"{100 + (2 * i)}")), (WatchEventType.Bookmark, Bookmark($"{101 + (2 * i)}"))]);
        }

        var informer = NewInformer(source);
        using var run = new Run(informer);

        await Eventually.GetAsync(() => Task.FromResult(source.WatchedFrom.Count), n => n >= 6, Deadline, "six watches");

        Assert.Equal(1, source.Lists);
        Assert.Equal(0, informer.Relists);
        Assert.Equal(["11", "101", "103", "105", "107", "109"], source.WatchedFrom.Take(6));
        Assert.Equal("11", informer.Get("ns/a")!.Metadata.ResourceVersion);
    }

    [Fact]
    public async Task ListProblem_Should_SayWhyListingFails_When_ARelistFailsAfterTheCacheSynced()
    {
        var source = new FakeListWatch(Job("a", "11")) { RelistFailure = new HttpRequestException("Connection refused (127.0.0.1:6443)") };
        source.Watches.Enqueue([(WatchEventType.Error, Gone())]);
        var informer = NewInformer(source);
        using var run = new Run(informer);
        await informer.Synced.WaitAsync(Deadline);

        var problem = await Eventually.GetAsync(() => Task.FromResult(informer.ListProblem), p => p is not null, Deadline, "the relist to fail");

        Assert.Contains("Connection refused", problem!.Message, StringComparison.Ordinal);
        source.RelistFailure = null;
        await Eventually.GetAsync(() => Task.FromResult(informer.ListProblem), p => p is null, Deadline, "a relist to succeed");
    }

    [Fact]
    public async Task Watch_Should_NotRelist_When_AWatchEndsBeforeItsFirstEvent()
    {
        var source = new FakeListWatch(Job("a", "11"));
        source.Watches.Enqueue(FakeListWatch.EmptyWatch);
        source.Watches.Enqueue(FakeListWatch.EmptyWatch);
        var informer = NewInformer(source);
        using var run = new Run(informer);

        await Eventually.GetAsync(() => Task.FromResult(source.WatchedFrom.Count), n => n >= 3, Deadline, "three watches");

        Assert.Equal(1, source.Lists);
    }

    [Fact]
    public async Task Relist_Should_BringAChangeTheWatchNeverDelivered_When_TheRelistPeriodPasses()
    {
        // The watch stays open and silent: the update of a and the deletion of gone were lost on the way.
        var source = new FakeListWatch(Job("a", "11"), Job("gone", "12"));
        var informer = new Informer<TrainingJob>("trainingjobs in ns", source.ListWatch, raw => KubernetesJson.Deserialize<TrainingJob>(raw), 300, NullLogger.Instance, relistPeriod: TimeSpan.FromMilliseconds(500));
        var deleted = new ConcurrentQueue<string>();
        informer.Changed += (old, current) => { if (current is null && old is not null) { deleted.Enqueue(old.Key); } };
        using var run = new Run(informer);
        await informer.Synced.WaitAsync(Deadline);

        source.Items = [Job("a", "13")];

        await Eventually.GetAsync(() => Task.FromResult((informer.Get("ns/a")?.Metadata.ResourceVersion, informer.Get("ns/gone") is null)), s => s == ("13", true), Deadline, "a relist to bring the missed changes");
        Assert.Equal(["ns/gone"], deleted);
        Assert.True(informer.Relists >= 1);
        Assert.Equal(0, informer.WatchRestarts);
    }

    [Fact]
    public async Task ActiveWatches_Should_StayAtOneAndDropToZero_When_WatchesRestartManyTimesAndTheInformerStops()
    {
        var source = new FakeListWatch(Job("a", "11"));
        for (var i = 0; i < 20; i++)
        {
            source.Watches.Enqueue([(WatchEventType.Bookmark, Bookmark($"{100 + i}"))]);
        }

        var informer = NewInformer(source);
        var run = new Run(informer);

        // After 20 ended watches the 21st stays open: exactly one is counted, not one per watch made.
        await Eventually.GetAsync(() => Task.FromResult(source.WatchedFrom.Count), n => n >= 21, Deadline, "21 watches");
        await Eventually.GetAsync(() => Task.FromResult(informer.ActiveWatches), n => n == 1, Deadline, "the open watch to be counted");
        Assert.Equal(20, informer.WatchRestarts);

        run.Dispose();
        Assert.Equal(0, informer.ActiveWatches);
    }

    private static Informer<TrainingJob> NewInformer(FakeListWatch source) =>
        new("trainingjobs in ns", source.ListWatch, raw => KubernetesJson.Deserialize<TrainingJob>(raw), 1, NullLogger.Instance);

    private static JsonElement Job(string name, string resourceVersion) => Parse($$$"""
        {"apiVersion":"k8straining.io/v1alpha1","kind":"TrainingJob",
         "metadata":{"name":"{{{name}}}","namespace":"ns","uid":"uid-{{{name}}}","generation":1,"resourceVersion":"{{{resourceVersion}}}"},
         "spec":{"training":{"model":"mlp","dataset":"synthetic"} } }
        """);

    /// <summary>Valid for the schema (tolerations preserve unknown fields) but not for core/v1 Toleration.</summary>
    private static JsonElement BadJob(string name, string resourceVersion, long generation) => Parse($$$"""
        {"apiVersion":"k8straining.io/v1alpha1","kind":"TrainingJob",
         "metadata":{"name":"{{{name}}}","namespace":"ns","uid":"uid-{{{name}}}","generation":{{{generation}}},"resourceVersion":"{{{resourceVersion}}}"},
         "spec":{"training":{"model":"mlp","dataset":"synthetic"},"tolerations":[{"key":"spot","operator":"Exists","tolerationSeconds":"soon"}]}}
        """);

    private static JsonElement Bookmark(string resourceVersion) => Parse($$$"""
        {"apiVersion":"k8straining.io/v1alpha1","kind":"TrainingJob","metadata":{"resourceVersion":"{{{resourceVersion}}}"}}
        """);

    private static JsonElement Gone() => Parse("""{"kind":"Status","apiVersion":"v1","status":"Failure","code":410,"reason":"Expired","message":"too old resource version"}""");

    private static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    /// <summary>Runs the informer until disposed.</summary>
    private sealed class Run : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _task;

        public Run(Informer<TrainingJob> informer) => _task = informer.RunAsync(_stop.Token);

        public void Dispose()
        {
            _stop.Cancel();
            _task.Wait(TimeSpan.FromSeconds(10));
            _stop.Dispose();
        }
    }

    /// <summary>
    /// An API server double at the level the informer sees: a list of raw items, then scripted watches; a watch with
    /// no script left stays open until cancelled. ERROR events go to the error callback, as the client does.
    /// </summary>
    private sealed class FakeListWatch(params JsonElement[] items)
    {
        public static readonly IReadOnlyList<(WatchEventType, JsonElement)> EmptyWatch = [];

        private int _lists;

        public ConcurrentQueue<IReadOnlyList<(WatchEventType, JsonElement)>> Watches { get; } = new();

        public List<string> WatchedFrom { get; } = [];

        /// <summary>What every list returns from now on.</summary>
        public JsonElement[] Items { get; set; } = items;

        public int Lists => _lists;

        /// <summary>Every list after the first fails with this while it is set.</summary>
        public Exception? RelistFailure { get; set; }

        public ListWatch ListWatch => new(ListAsync, WatchAsync);

        private Task<RawList> ListAsync(CancellationToken cancellationToken)
        {
            var n = Interlocked.Increment(ref _lists);
            return n > 1 && RelistFailure is { } failure ? Task.FromException<RawList>(failure) : Task.FromResult(new RawList("11", Items));
        }

        private async IAsyncEnumerable<(WatchEventType, JsonElement)> WatchAsync(string resourceVersion, int timeoutSeconds, Action<Exception> onError, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            lock (WatchedFrom)
            {
                WatchedFrom.Add(resourceVersion);
            }

            if (!Watches.TryDequeue(out var events))
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
                yield break;
            }

            if (ReferenceEquals(events, EmptyWatch))
            {
                // What the client does when the watch ends before a first line (EmptyWatchTests pins it on the real client).
                throw new HttpRequestException("Error while copying content to a stream.", new EndOfStreamException());
            }

            foreach (var (type, obj) in events)
            {
                await Task.Yield();
                if (type == WatchEventType.Error)
                {
                    onError(new KubernetesException(KubernetesJson.Deserialize<V1Status>(obj)));
                    continue;
                }

                yield return (type, obj);
            }
        }
    }
}
