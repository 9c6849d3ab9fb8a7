using System.Collections.Concurrent;
using System.Diagnostics;
using k8s;
using k8s.Models;
using Xunit.Abstractions;

namespace K8sTraining.LocalCluster.Tests.NodeAgent;

/// <summary>
/// How fast the node agent turns pods around, measured through a watch as a controller sees it. Prints the figures
/// (run with `--logger "console;verbosity=detailed"`) and fails only when the agent is grossly slow.
/// </summary>
[Trait("Category", "Integration")]
public sealed class NodeAgentTimingTests(NodeAgentFixture cluster, ITestOutputHelper output) : IClassFixture<NodeAgentFixture>
{
    private const int Pods = 10;

    [Fact]
    public async Task Pods_Should_StartAndStopWithinASecondOrTwo_When_CreatedAndDeletedOneAfterAnother()
    {
        var seen = new ConcurrentQueue<(string Uid, WatchEventType Type, string? Phase, long At)>();
        var clock = Stopwatch.StartNew();
        using var stopWatching = new CancellationTokenSource();
        var list = await cluster.Client.CoreV1.ListPodForAllNamespacesAsync();
        var watching = Task.Run(async () =>
        {
            var events = cluster.Client.CoreV1.WatchListPodForAllNamespacesAsync(resourceVersion: list.Metadata.ResourceVersion, timeoutSeconds: 300, cancellationToken: stopWatching.Token);
            try
            {
                await foreach (var (type, pod) in events)
                {
                    seen.Enqueue((pod.Metadata.Uid, type, pod.Status?.Phase, clock.ElapsedMilliseconds));
                }
            }
            catch (OperationCanceledException)
            {
                // done
            }
        });

        var starts = new List<long>();
        var stops = new List<long>();
        for (var i = 0; i < Pods; i++)
        {
            var created = clock.ElapsedMilliseconds;
            var pod = await cluster.CreateAsync(PodBuilder.Shell("exec sleep 300", "timing").Build());
            var runningAt = await Eventually.ValueAsync(() => seen.FirstOrDefault(e => e.Uid == pod.Metadata.Uid && e.Phase == "Running") is { Uid: not null } e ? e.At : (long?)null);
            starts.Add(runningAt - created);

            var deleted = clock.ElapsedMilliseconds;
            await cluster.Client.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, "default");
            var goneAt = await Eventually.ValueAsync(() => seen.FirstOrDefault(e => e.Uid == pod.Metadata.Uid && e.Type == WatchEventType.Deleted) is { Uid: not null } e ? e.At : (long?)null);
            stops.Add(goneAt - deleted);
        }

        await stopWatching.CancelAsync();
        await watching;
        starts.Sort();
        stops.Sort();
        output.WriteLine($"create -> Running (ms) over {Pods} pods: p50 {starts[Pods / 2]}, max {starts[^1]}");
        output.WriteLine($"delete -> DELETED for a container that exits on SIGTERM (ms): p50 {stops[Pods / 2]}, max {stops[^1]}");
        Assert.InRange(starts[Pods / 2], 0, 2000);
        Assert.InRange(stops[Pods / 2], 0, 2000);
    }
}
