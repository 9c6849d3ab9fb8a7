using System.Text.Json.Nodes;
using K8sTraining.LocalCluster.Api;
using K8sTraining.LocalCluster.Resources;
using Microsoft.Extensions.Logging;

namespace K8sTraining.LocalCluster.Controllers.EndpointSlices;

/// <summary>
/// kube-controller-manager's EndpointSlice controller, reduced to one slice per Service: after any change, every Service
/// with a selector gets the slice <see cref="EndpointSliceDecision"/> says (created, or updated when its endpoints,
/// ports or labels differ), and slices it manages whose Service no longer selects are deleted (the garbage collector
/// removes those of deleted Services through their ownerReference).
/// </summary>
public sealed partial class EndpointSliceController(ResourceOperations ops, ILogger<EndpointSliceController> logger) : IAsyncDisposable
{
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
                // Let a burst of writes settle so one pass sees them all.
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
        var type = BuiltinResources.EndpointSlices;
        var slices = ops.Store.List(type.StorageKey, null).Items
            .Where(s => (string?)s["metadata"]?["labels"]?[EndpointSliceDecision.ManagedByLabel] == EndpointSliceDecision.ManagedBy)
            .ToDictionary(s => $"{(string?)s["metadata"]?["namespace"]}/{(string?)s["metadata"]?["name"]}", StringComparer.Ordinal);
        var podsByNamespace = ops.Store.List(BuiltinResources.Pods.StorageKey, null).Items
            .GroupBy(p => (string?)p["metadata"]?["namespace"] ?? "default", StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var wanted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var service in ops.Store.List(BuiltinResources.Services.StorageKey, null).Items)
        {
            if (!EndpointSliceDecision.Manages(service) || service["metadata"]?["deletionTimestamp"] is not null)
            {
                continue;
            }

            var ns = (string?)service["metadata"]?["namespace"] ?? "default";
            var desired = EndpointSliceDecision.Desired(service, podsByNamespace.GetValueOrDefault(ns) ?? []);
            var name = (string)desired["metadata"]!["name"]!;
            var key = $"{ns}/{name}";
            wanted.Add(key);
            if (!slices.TryGetValue(key, out var existing))
            {
                ops.Create(type, ns, desired);
                LogWritten(ns, name);
                continue;
            }

            if (Same(existing, desired))
            {
                continue;
            }

            var updated = (JsonObject)existing.DeepClone();
            updated["metadata"]!["labels"] = desired["metadata"]!["labels"]!.DeepClone();
            updated["metadata"]!["ownerReferences"] = desired["metadata"]!["ownerReferences"]!.DeepClone();
            foreach (var field in new[] { "addressType", "endpoints", "ports" })
            {
                updated[field] = desired[field]!.DeepClone();
            }

            ops.Update(type, ns, name, updated, statusOnly: false);
            LogWritten(ns, name);
        }

        foreach (var (key, slice) in slices)
        {
            if (!wanted.Contains(key) && slice["metadata"]?["deletionTimestamp"] is null)
            {
                ops.Delete(type, (string?)slice["metadata"]?["namespace"], (string)slice["metadata"]!["name"]!, new DeleteOptions());
            }
        }
    }

    private static bool Same(JsonObject existing, JsonObject desired) =>
        JsonNode.DeepEquals(existing["metadata"]?["labels"], desired["metadata"]!["labels"])
        && JsonNode.DeepEquals(existing["metadata"]?["ownerReferences"], desired["metadata"]!["ownerReferences"])
        && new[] { "addressType", "endpoints", "ports" }.All(f => JsonNode.DeepEquals(existing[f], desired[f]));

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

    [LoggerMessage(Level = LogLevel.Warning, Message = "endpointslice pass failed")]
    private partial void LogPassFailed(Exception e);

    [LoggerMessage(Level = LogLevel.Debug, Message = "wrote endpointslice {Namespace}/{Name}")]
    private partial void LogWritten(string @namespace, string name);
}
