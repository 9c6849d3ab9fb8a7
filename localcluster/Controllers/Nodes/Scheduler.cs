using System.Text.Json.Nodes;
using K8sTraining.LocalCluster.Api;
using K8sTraining.LocalCluster.Resources;
using Microsoft.Extensions.Logging;

namespace K8sTraining.LocalCluster.Controllers.Nodes;

/// <summary>
/// The default scheduler's loop: every pod of schedulerName default-scheduler without spec.nodeName is bound (the
/// pods/binding subresource) to the node <see cref="SchedulingDecision"/> picks, or marked PodScheduled=False reason
/// Unschedulable and tried again whenever anything changes (a node turning Ready, a taint going away). Records the
/// Scheduled and FailedScheduling Events.
/// </summary>
public sealed partial class Scheduler(ResourceOperations ops, ILogger<Scheduler> logger) : IAsyncDisposable
{
    public const string Unschedulable = "Unschedulable";

    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    public void Start()
    {
        ops.Store.Changed += Poke;
        _loop = Task.Run(() => RunAsync(_stop.Token));
        Poke();
    }

    private void Poke()
    {
        if (_wake.CurrentCount == 0)
        {
            _wake.Release();
        }
    }

    private async Task RunAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await _wake.WaitAsync(ct);
                await Task.Delay(TimeSpan.FromMilliseconds(10), ct);
                while (_wake.CurrentCount > 0)
                {
                    await _wake.WaitAsync(ct);
                }

                ops.Store.Atomically(Pass);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogPassFailed(e);
            }
        }
    }

    private void Pass()
    {
        var pods = ops.Store.List(BuiltinResources.Pods.StorageKey, null).Items;
        var pending = pods.Where(p => string.IsNullOrEmpty((string?)p["spec"]?["nodeName"])
            && p["metadata"]?["deletionTimestamp"] is null
            && ((string?)p["spec"]?["schedulerName"] ?? "default-scheduler") == "default-scheduler"
            && (string?)p["status"]?["phase"] is not ("Succeeded" or "Failed")).ToList();
        if (pending.Count == 0)
        {
            return;
        }

        var counts = pods.Where(p => (string?)p["status"]?["phase"] is not ("Succeeded" or "Failed"))
            .GroupBy(p => (string?)p["spec"]?["nodeName"] ?? "")
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var nodes = ops.Store.List(BuiltinResources.Nodes.StorageKey, null).Items.Select(n => Candidate(n, counts)).ToList();
        foreach (var pod in pending.OrderBy(p => (string?)p["metadata"]?["creationTimestamp"], StringComparer.Ordinal))
        {
            var selector = (pod["spec"]?["nodeSelector"] as JsonObject)?.ToDictionary(kv => kv.Key, kv => (string?)kv.Value ?? "", StringComparer.Ordinal);
            var result = SchedulingDecision.Schedule(Toleration.Of(pod), selector, nodes);
            var ns = (string)pod["metadata"]!["namespace"]!;
            var name = (string)pod["metadata"]!["name"]!;
            if (result.Node is { } node)
            {
                ops.Bind(ns, name, (string?)pod["metadata"]?["uid"], node);
                PodEvents.Record(ops, pod, "default-scheduler", "Normal", "Scheduled", $"Successfully assigned {ns}/{name} to {node}");
                LogBound(ns, name, node);
                var index = nodes.FindIndex(n => n.Name == node);
                nodes[index] = nodes[index] with { Pods = nodes[index].Pods + 1 };
            }
            else if (Conditions.Set(pod, "PodScheduled", "False", Unschedulable, result.Message, ops.Now()))
            {
                ops.Store.Put(BuiltinResources.Pods.StorageKey, pod);
                PodEvents.Record(ops, pod, "default-scheduler", "Warning", "FailedScheduling", result.Message);
                LogUnschedulable(ns, name, result.Message);
            }
        }
    }

    private static NodeCandidate Candidate(JsonObject node, Dictionary<string, int> counts)
    {
        var name = (string)node["metadata"]!["name"]!;
        return new NodeCandidate(
            name,
            (string?)Conditions.Find(node, "Ready")?["status"] == "True",
            Taint.Of(node),
            (node["metadata"]?["labels"] as JsonObject)?.ToDictionary(kv => kv.Key, kv => (string?)kv.Value ?? "", StringComparer.Ordinal)
                ?? new Dictionary<string, string>(StringComparer.Ordinal),
            counts.GetValueOrDefault(name),
            (bool?)node["spec"]?["unschedulable"] == true,
            node["metadata"]?["deletionTimestamp"] is not null);
    }

    public async ValueTask DisposeAsync()
    {
        ops.Store.Changed -= Poke;
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }

        _stop.Dispose();
        _wake.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "scheduling pass failed")]
    private partial void LogPassFailed(Exception e);

    [LoggerMessage(Level = LogLevel.Information, Message = "bound {Namespace}/{Name} to {Node}")]
    private partial void LogBound(string @namespace, string name, string node);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Namespace}/{Name} is unschedulable: {Message}")]
    private partial void LogUnschedulable(string @namespace, string name, string message);
}
