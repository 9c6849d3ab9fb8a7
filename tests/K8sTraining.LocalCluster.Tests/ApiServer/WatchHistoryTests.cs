using System.Diagnostics;
using k8s;
using k8s.Models;
using K8sTraining.LocalCluster.Hosting;

namespace K8sTraining.LocalCluster.Tests.ApiServer;

/// <summary>A control plane that keeps only a short change history, so old resourceVersions expire.</summary>
public sealed class ShortHistoryFixture : ControlPlaneFixture
{
    protected override LocalControlPlaneOptions Options => base.Options with { WatchHistorySize = 20 };
}

/// <summary>Watches against a bounded history: 410 Gone for expired versions, and load within the window.</summary>
[Trait("Category", "Integration")]
public sealed class WatchHistoryTests(ShortHistoryFixture fx) : IClassFixture<ShortHistoryFixture>
{
    [Fact]
    public async Task Watch_Should_SendGoneAsAnErrorEvent_When_TheResourceVersionIsTooOld()
    {
        var ns = await fx.NewNamespaceAsync();
        var old = await fx.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "old" } }, ns);
        for (var i = 0; i < 30; i++)
        {
            await fx.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = $"churn-{i}" } }, ns);
        }

        Exception? error = null;
        var delivered = 0;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await foreach (var _ in fx.Client.CoreV1.WatchListNamespacedConfigMapAsync(ns, resourceVersion: old.Metadata.ResourceVersion, timeoutSeconds: 2, onError: e => error ??= e, cancellationToken: cts.Token))
            {
                delivered++;
            }
        }
        catch (HttpRequestException e) when (e.InnerException is EndOfStreamException)
        {
            // the stream ends after the ERROR event
        }

        var gone = Assert.IsType<KubernetesException>(error);
        Assert.Equal(410, gone.Status.Code);
        Assert.Equal("Expired", gone.Status.Reason);
        Assert.StartsWith($"too old resource version: {old.Metadata.ResourceVersion} (", gone.Status.Message, StringComparison.Ordinal);
        Assert.Equal(0, delivered);
    }
}

/// <summary>Watch resource versions under a realistic load: 1,000 objects written while a watch follows them.</summary>
[Trait("Category", "Integration")]
public sealed class WatchLoadTests(ControlPlaneFixture fx) : IClassFixture<ControlPlaneFixture>
{
    [Fact]
    public async Task Watch_Should_DeliverEveryChangeInOrder_When_AThousandObjectsAreWritten()
    {
        const int count = 1000;
        var ns = await fx.NewNamespaceAsync();
        var start = await fx.Client.CoreV1.ListNamespacedConfigMapAsync(ns);
        var received = new List<(WatchEventType Type, long Rv)>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var watching = Task.Run(async () =>
        {
            await foreach (var (type, cm) in fx.Client.CoreV1.WatchListNamespacedConfigMapAsync(ns, resourceVersion: start.Metadata.ResourceVersion, cancellationToken: cts.Token))
            {
                received.Add((type, long.Parse(cm.Metadata.ResourceVersion)));
                if (received.Count == count * 2)
                {
                    break;
                }
            }
        });

        var clock = Stopwatch.StartNew();
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
        {
            await fx.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = $"load-{i:D4}" }, Data = new Dictionary<string, string> { ["i"] = $"{i}" } }, ns, cancellationToken: ct);
            await fx.Client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"data":{"touched":"yes"}}""", V1Patch.PatchType.MergePatch), $"load-{i:D4}", ns, cancellationToken: ct);
        });
        var written = clock.Elapsed;
        await watching;
        var followed = clock.Elapsed;

        Assert.Equal(count, received.Count(e => e.Type == WatchEventType.Added));
        Assert.Equal(count, received.Count(e => e.Type == WatchEventType.Modified));
        Assert.True(received.Select(e => e.Rv).SequenceEqual(received.Select(e => e.Rv).Order()), "events arrive in resourceVersion order");
        Assert.Equal(received.Count, received.Select(e => e.Rv).Distinct().Count());
        var resumed = await fx.Client.CoreV1.ListNamespacedConfigMapAsync(ns, resourceVersion: "0");
        Assert.Equal(count, resumed.Items.Count(i => i.Metadata.Name.StartsWith("load-", StringComparison.Ordinal)));
        Console.WriteLine($"watch-load: {count * 2} writes in {written.TotalSeconds:F2} s ({count * 2 / written.TotalSeconds:F0} writes/s), watch caught up after {followed.TotalSeconds:F2} s");
    }
}
