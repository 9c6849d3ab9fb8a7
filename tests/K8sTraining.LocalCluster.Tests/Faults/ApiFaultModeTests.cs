using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using K8sTraining.LocalCluster.Api.Faults;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace K8sTraining.LocalCluster.Tests.Faults;

/// <summary>The fault mode through the real client over HTTP: errors as a real API server answers them, and watches delayed, thinned and cut.</summary>
[Trait("Category", "Integration")]
public sealed class ApiFaultModeTests(FaultModeFixture fx) : IClassFixture<FaultModeFixture>, IDisposable
{
    private readonly string _agent = $"faults-test/{Guid.NewGuid():N}"[..20];

    public void Dispose() => fx.Plane.Faults.Clear();

    private static V1ConfigMap Cm(string name) => new() { Metadata = new V1ObjectMeta { Name = name }, Data = new Dictionary<string, string> { ["k"] = "v" } };

    [Fact]
    public async Task Request_Should_AnswerTooManyRequestsWithRetryAfter_When_TheClientIsThrottled()
    {
        var ns = await fx.NewNamespaceAsync();
        fx.Plane.Faults.Set(1, new ApiFaultRule { UserAgentPrefix = _agent, TooManyRequests = 1, RetryAfterSeconds = 2 });
        using var http = new HttpClient();
        http.DefaultRequestHeaders.UserAgent.ParseAdd(_agent);
        using var client = fx.ClientAs(_agent);

        using var raw = await http.GetAsync(new Uri(fx.Plane.BaseUri, $"api/v1/namespaces/{ns}/configmaps"));
        var typed = await Assert.ThrowsAsync<HttpOperationException>(() => client.CoreV1.ListNamespacedConfigMapAsync(ns));
        var others = await fx.Client.CoreV1.ListNamespacedConfigMapAsync(ns);

        Assert.Equal(HttpStatusCode.TooManyRequests, raw.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(2), raw.Headers.RetryAfter?.Delta);
        var status = KubernetesJson.Deserialize<V1Status>(await raw.Content.ReadAsStringAsync());
        Assert.Equal(("Failure", "TooManyRequests", 429, 2), (status.Status, status.Reason, status.Code, status.Details.RetryAfterSeconds));
        Assert.Equal(HttpStatusCode.TooManyRequests, typed.Response.StatusCode);
        Assert.NotNull(others);
        Assert.Equal(2, fx.Plane.Faults.Injected(ApiFaultKind.TooManyRequests));
    }

    [Fact]
    public async Task Write_Should_Conflict_When_TheRuleConflictsEveryWriteButReadsAndCreatesAreServed()
    {
        var ns = await fx.NewNamespaceAsync();
        fx.Plane.Faults.Set(1, new ApiFaultRule { UserAgentPrefix = _agent, Conflict = 1 });
        using var client = fx.ClientAs(_agent);

        var created = await client.CoreV1.CreateNamespacedConfigMapAsync(Cm("c"), ns);
        var read = await client.CoreV1.ReadNamespacedConfigMapAsync("c", ns);
        read.Data["k"] = "changed";
        var replace = await Assert.ThrowsAsync<HttpOperationException>(() => client.CoreV1.ReplaceNamespacedConfigMapAsync(read, "c", ns));
        var patch = await Assert.ThrowsAsync<HttpOperationException>(() => client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"data":{"k":"patched"}}""", V1Patch.PatchType.MergePatch), "c", ns));
        var delete = await Assert.ThrowsAsync<HttpOperationException>(() => client.CoreV1.DeleteNamespacedConfigMapAsync("c", ns));

        Assert.Equal(created.Metadata.Uid, read.Metadata.Uid);
        foreach (var e in new[] { replace, patch, delete })
        {
            Assert.Equal(HttpStatusCode.Conflict, e.Response.StatusCode);
            var status = KubernetesJson.Deserialize<V1Status>(e.Response.Content);
            Assert.Equal("Conflict", status.Reason);
            Assert.Equal("Operation cannot be fulfilled on configmaps \"c\": the object has been modified; please apply your changes to the latest version and try again", status.Message);
        }

        Assert.Equal("v", (await fx.Client.CoreV1.ReadNamespacedConfigMapAsync("c", ns)).Data["k"]);
    }

    [Fact]
    public async Task Request_Should_AnswerInternalErrorAndAuditIt_When_TheRuleFailsEveryRequest()
    {
        var ns = await fx.NewNamespaceAsync();
        fx.Plane.Faults.Set(1, new ApiFaultRule { UserAgentPrefix = _agent, InternalError = 1 });
        using var client = fx.ClientAs(_agent);

        var error = await Assert.ThrowsAsync<HttpOperationException>(() => client.CoreV1.ListNamespacedConfigMapAsync(ns));

        Assert.Equal(HttpStatusCode.InternalServerError, error.Response.StatusCode);
        var status = KubernetesJson.Deserialize<V1Status>(error.Response.Content);
        Assert.Equal("InternalError", status.Reason);
        Assert.StartsWith("Internal error occurred: ", status.Message, StringComparison.Ordinal);
        Assert.Contains(fx.Plane.AuditLog.Entries, e => e.Namespace == ns && e.UserAgent == _agent && e.Code == 500 && e.Verb == "list");
    }

    [Fact]
    public async Task Watch_Should_LeaveOutEveryChangeButKeepBookmarking_When_TheRuleDropsAllEvents()
    {
        var ns = await fx.NewNamespaceAsync();
        fx.Plane.Faults.Set(1, new ApiFaultRule { UserAgentPrefix = _agent, DropWatchEvents = 1 });
        var before = fx.Plane.Faults.Injected(ApiFaultKind.DroppedEvent);
        using var client = fx.ClientAs(_agent);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var from = (await fx.Client.CoreV1.ListNamespacedConfigMapAsync(ns)).Metadata.ResourceVersion;
        var faulted = WatchRecorder.Start(client, ns, from, stop.Token);
        var plain = WatchRecorder.Start(fx.Client, ns, from, stop.Token);

        V1ConfigMap last = null!;
        for (var i = 0; i < 3; i++)
        {
            last = await fx.Client.CoreV1.CreateNamespacedConfigMapAsync(Cm($"c{i}"), ns);
        }

        var lastRv = long.Parse(last.Metadata.ResourceVersion, CultureInfo.InvariantCulture);
        await Eventually.TrueAsync(() => plain.Changes.Count == 3, what: "the plain watch to see 3 changes");
        await Eventually.TrueAsync(() => faulted.Bookmarks.Any(rv => rv >= lastRv), what: "the faulted watch to bookmark past the last change");
        await stop.CancelAsync();

        Assert.Empty(faulted.Changes);
        Assert.Equal(3, fx.Plane.Faults.Injected(ApiFaultKind.DroppedEvent) - before);
        Assert.Equal(3, (await client.CoreV1.ListNamespacedConfigMapAsync(ns)).Items.Count);
    }

    [Fact]
    public async Task Watch_Should_DropTheSameEvents_When_TheSameSeedIsSetAgain()
    {
        async Task<List<string>> RunAsync()
        {
            var ns = await fx.NewNamespaceAsync();
            fx.Plane.Faults.Set(7, new ApiFaultRule { UserAgentPrefix = _agent, DropWatchEvents = 0.5 });
            using var client = fx.ClientAs(_agent);
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var from = (await fx.Client.CoreV1.ListNamespacedConfigMapAsync(ns)).Metadata.ResourceVersion;
            var faulted = WatchRecorder.Start(client, ns, from, stop.Token);
            V1ConfigMap last = null!;
            for (var i = 0; i < 12; i++)
            {
                last = await fx.Client.CoreV1.CreateNamespacedConfigMapAsync(Cm($"c{i:D2}"), ns);
            }

            var lastRv = long.Parse(last.Metadata.ResourceVersion, CultureInfo.InvariantCulture);
            await Eventually.TrueAsync(() => faulted.Bookmarks.Any(rv => rv >= lastRv) || faulted.Changes.Any(c => c.Rv == lastRv), what: "the faulted watch to pass the last change");
            await stop.CancelAsync();
            return faulted.Changes.Select(c => c.Name).ToList();
        }

        var first = await RunAsync();
        var second = await RunAsync();

        Assert.Equal(first, second);
        Assert.InRange(first.Count, 1, 11);
    }

    [Fact]
    public async Task Watch_Should_DeliverEachChangeLateInOrderAndNeverBookmarkPastIt_When_TheRuleDelaysEvents()
    {
        var ns = await fx.NewNamespaceAsync();
        var delay = TimeSpan.FromSeconds(1.5);
        fx.Plane.Faults.Set(1, new ApiFaultRule { UserAgentPrefix = _agent, WatchDelay = delay });
        using var client = fx.ClientAs(_agent);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var from = (await fx.Client.CoreV1.ListNamespacedConfigMapAsync(ns)).Metadata.ResourceVersion;
        var faulted = WatchRecorder.Start(client, ns, from, stop.Token);
        var plain = WatchRecorder.Start(fx.Client, ns, from, stop.Token);
        await Eventually.TrueAsync(() => faulted.Bookmarks.Count > 0 && plain.Bookmarks.Count > 0, what: "both watches to be open");

        var written = faulted.Clock.Elapsed;
        var created = new List<V1ConfigMap>();
        for (var i = 0; i < 3; i++)
        {
            created.Add(await fx.Client.CoreV1.CreateNamespacedConfigMapAsync(Cm($"c{i}"), ns));
        }

        await Eventually.TrueAsync(() => faulted.Changes.Count == 3, what: "the delayed watch to see 3 changes");
        await stop.CancelAsync();

        var firstRv = long.Parse(created[0].Metadata.ResourceVersion, CultureInfo.InvariantCulture);
        var firstSeen = faulted.Changes.First().At;
        Assert.Equal(["c0", "c1", "c2"], faulted.Changes.Select(c => c.Name));
        Assert.True(firstSeen - written >= delay - TimeSpan.FromMilliseconds(100), $"the first change arrived {(firstSeen - written).TotalSeconds:0.00}s after it was written");
        Assert.True(plain.Changes.First().At - written < delay, "the other client saw the change at once");
        Assert.All(faulted.BookmarksWithTime.Where(b => b.At < firstSeen), b => Assert.True(b.Rv < firstRv, $"a bookmark at {b.Rv} passed the held change {firstRv}"));
    }

    [Theory]
    [InlineData(500, 1000)]
    [InlineData(50, 100)] // before the first bookmark (300 ms): an empty watch, which the client ends with EndOfStreamException
    public async Task Watch_Should_EndLongBeforeItsTimeout_When_TheRuleClosesWatchesEarly(int minMs, int maxMs)
    {
        var ns = await fx.NewNamespaceAsync();
        fx.Plane.Faults.Set(1, new ApiFaultRule { UserAgentPrefix = _agent, CloseWatchesAfter = (TimeSpan.FromMilliseconds(minMs), TimeSpan.FromMilliseconds(maxMs)) });
        var before = fx.Plane.Faults.Injected(ApiFaultKind.EarlyClose);
        using var client = fx.ClientAs(_agent);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var from = (await fx.Client.CoreV1.ListNamespacedConfigMapAsync(ns)).Metadata.ResourceVersion;

        var faulted = WatchRecorder.Start(client, ns, from, stop.Token);
        var plain = WatchRecorder.Start(fx.Client, ns, from, stop.Token);
        await faulted.Ended.WaitAsync(TimeSpan.FromSeconds(15));
        var open = !plain.Ended.IsCompleted;
        await stop.CancelAsync();

        Assert.True(faulted.Clock.Elapsed < TimeSpan.FromSeconds(15), "the watch with a 60 s timeout ended early");
        Assert.True(open, "the other client's watch stayed open");
        await Eventually.TrueAsync(() => fx.Plane.Faults.Injected(ApiFaultKind.EarlyClose) - before == 1, what: "the early close to be counted");
    }

    [Fact]
    public async Task Set_Should_EndTheOpenWatchesOfTheClientItNames_When_TheRulesChange()
    {
        var ns = await fx.NewNamespaceAsync();
        using var client = fx.ClientAs(_agent);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var from = (await fx.Client.CoreV1.ListNamespacedConfigMapAsync(ns)).Metadata.ResourceVersion;
        var faulted = WatchRecorder.Start(client, ns, from, stop.Token);
        var plain = WatchRecorder.Start(fx.Client, ns, from, stop.Token);
        await Eventually.TrueAsync(() => faulted.Bookmarks.Count > 0 && plain.Bookmarks.Count > 0, what: "both watches to be open");

        // Opened before the rule: it ends, so the client watches again under the rule.
        var earlyCloses = fx.Plane.Faults.Injected(ApiFaultKind.EarlyClose);
        fx.Plane.Faults.Set(1, new ApiFaultRule { UserAgentPrefix = _agent, DropWatchEvents = 1 });
        await faulted.Ended.WaitAsync(TimeSpan.FromSeconds(15));
        var open = !plain.Ended.IsCompleted;
        await stop.CancelAsync();

        Assert.True(open, "the other client's watch stayed open");
        Assert.Equal(earlyCloses, fx.Plane.Faults.Injected(ApiFaultKind.EarlyClose));
    }

    /// <summary>One watch from a resourceVersion with bookmarks, each change and bookmark recorded with when it arrived.</summary>
    private sealed class WatchRecorder
    {
        private readonly ConcurrentQueue<(long Rv, TimeSpan At)> _bookmarks = new();

        public Stopwatch Clock { get; } = Stopwatch.StartNew();

        public ConcurrentQueue<(string Name, long Rv, TimeSpan At)> Changes { get; } = new();

        public IReadOnlyCollection<long> Bookmarks => _bookmarks.Select(b => b.Rv).ToList();

        public IReadOnlyCollection<(long Rv, TimeSpan At)> BookmarksWithTime => _bookmarks;

        public Task Ended { get; private set; } = Task.CompletedTask;

        public static WatchRecorder Start(IKubernetes client, string ns, string from, CancellationToken stop)
        {
            var recorder = new WatchRecorder();
            recorder.Ended = Task.Run(async () =>
            {
                try
                {
                    await foreach (var (type, cm) in client.CoreV1.WatchListNamespacedConfigMapAsync(ns, allowWatchBookmarks: true, resourceVersion: from, timeoutSeconds: 60, cancellationToken: stop))
                    {
                        var rv = long.Parse(cm.Metadata.ResourceVersion, CultureInfo.InvariantCulture);
                        if (type == WatchEventType.Bookmark)
                        {
                            recorder._bookmarks.Enqueue((rv, recorder.Clock.Elapsed));
                        }
                        else
                        {
                            recorder.Changes.Enqueue((cm.Metadata.Name, rv, recorder.Clock.Elapsed));
                        }
                    }
                }
                catch (HttpRequestException e) when (e.InnerException is EndOfStreamException)
                {
                    // the server ended the watch before its first line (an early close before the first bookmark):
                    // the client reports an empty watch this way, and it has ended all the same
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    // the test is done with it
                }
            }, CancellationToken.None);
            return recorder;
        }
    }
}
