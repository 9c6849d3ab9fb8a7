using System.Text.Json.Nodes;
using K8sTraining.LocalCluster.Api;
using K8sTraining.LocalCluster.Resources;
using Microsoft.Extensions.Logging;

namespace K8sTraining.LocalCluster.Controllers;

/// <summary>
/// The garbage collector and namespace controller of kube-controller-manager, reduced to what matters here:
/// dependents whose owners are all gone are deleted (background), foregroundDeletion waits for blocking dependents,
/// orphan strips owner references, and a terminating namespace is emptied and then removed.
/// </summary>
public sealed partial class GarbageCollector(ResourceOperations ops, ILogger<GarbageCollector> logger) : IAsyncDisposable
{
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    public void Start()
    {
        ops.Store.Changed += Poke;
        _loop = Task.Run(() => RunAsync(_stop.Token));
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
                await Task.Delay(TimeSpan.FromMilliseconds(20), ct);
                while (_wake.CurrentCount > 0)
                {
                    await _wake.WaitAsync(ct);
                }

                for (var pass = 0; pass < 20 && ops.Store.Atomically(Pass); pass++)
                {
                }
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

    /// <summary>One sweep over all objects; true when it changed something (another sweep may find more).</summary>
    private bool Pass()
    {
        var changed = false;
        var all = ops.Store.All();
        var byUid = new Dictionary<string, (string StorageKey, JsonObject Object)>();
        var dependents = new Dictionary<string, List<(string StorageKey, JsonObject Object)>>();
        foreach (var (key, obj) in all)
        {
            if ((string?)obj["metadata"]?["uid"] is { } uid)
            {
                byUid[uid] = (key, obj);
            }

            foreach (var owner in (obj["metadata"]?["ownerReferences"] as JsonArray)?.OfType<JsonObject>() ?? [])
            {
                if ((string?)owner["uid"] is { } ownerUid)
                {
                    if (!dependents.TryGetValue(ownerUid, out var list))
                    {
                        list = [];
                        dependents[ownerUid] = list;
                    }

                    list.Add((key, obj));
                }
            }
        }

        foreach (var (key, obj) in all)
        {
            var type = ops.Registry.ByStorageKey(key);
            if (type is null)
            {
                continue;
            }

            var meta = obj["metadata"]!.AsObject();
            var uid = (string?)meta["uid"] ?? "";
            var name = (string)meta["name"]!;
            var ns = (string?)meta["namespace"];
            var finalizers = (meta["finalizers"] as JsonArray)?.Select(f => (string?)f).ToList() ?? [];
            var deleting = meta["deletionTimestamp"] is not null;
            var myDependents = dependents.GetValueOrDefault(uid) ?? [];

            if (deleting && finalizers.Contains("orphan"))
            {
                foreach (var (dk, dep) in myDependents)
                {
                    changed |= RemoveOwnerReference(dk, dep, uid);
                }

                changed |= RemoveFinalizer(type, ns, name, "orphan");
                continue;
            }

            if (deleting && finalizers.Contains("foregroundDeletion"))
            {
                var blocking = 0;
                foreach (var (dk, dep) in myDependents)
                {
                    var depType = ops.Registry.ByStorageKey(dk);
                    if (depType is null)
                    {
                        continue;
                    }

                    var reference = (dep["metadata"]!["ownerReferences"] as JsonArray)!.OfType<JsonObject>().First(o => (string?)o["uid"] == uid);
                    if ((bool?)reference["blockOwnerDeletion"] == true)
                    {
                        blocking++;
                    }

                    if (dep["metadata"]?["deletionTimestamp"] is null)
                    {
                        changed |= TryDelete(depType, dep, "Foreground");
                    }
                }

                if (blocking == 0)
                {
                    changed |= RemoveFinalizer(type, ns, name, "foregroundDeletion");
                }

                continue;
            }

            if (type == BuiltinResources.Namespaces && deleting)
            {
                changed |= EmptyNamespace(obj, all);
                continue;
            }

            if (meta["ownerReferences"] is JsonArray { Count: > 0 } owners && !deleting)
            {
                var ownerUids = owners.OfType<JsonObject>().Select(o => (string?)o["uid"] ?? "").ToList();
                var alive = ownerUids.Where(u => byUid.TryGetValue(u, out var owner) && !IsBeingDeletedWithoutForeground(owner.Object)).ToList();
                var present = ownerUids.Where(byUid.ContainsKey).ToList();
                if (present.Count == 0)
                {
                    changed |= TryDelete(type, obj, "Background");
                }
                else if (alive.Count > 0 && present.Count < ownerUids.Count)
                {
                    foreach (var dangling in ownerUids.Where(u => !byUid.ContainsKey(u)))
                    {
                        changed |= RemoveOwnerReference(key, obj, dangling);
                    }
                }
            }
        }

        return changed;
    }

    private static bool IsBeingDeletedWithoutForeground(JsonObject owner) =>
        owner["metadata"]?["deletionTimestamp"] is not null
        && !((owner["metadata"]?["finalizers"] as JsonArray)?.Any(f => (string?)f == "foregroundDeletion") ?? false);

    private bool EmptyNamespace(JsonObject nsObj, List<(string StorageKey, JsonObject Object)> all)
    {
        var ns = (string)nsObj["metadata"]!["name"]!;
        var changed = false;
        var remaining = 0;
        foreach (var (key, obj) in all.Where(x => (string?)x.Object["metadata"]?["namespace"] == ns))
        {
            remaining++;
            var type = ops.Registry.ByStorageKey(key);
            if (type is not null && obj["metadata"]?["deletionTimestamp"] is null)
            {
                changed |= TryDelete(type, obj, "Background");
            }
        }

        if (remaining == 0)
        {
            changed |= ops.Store.Remove(BuiltinResources.Namespaces.StorageKey, null, ns) is not null;
        }

        return changed;
    }

    private bool TryDelete(ResourceType type, JsonObject obj, string policy)
    {
        try
        {
            ops.Delete(type, (string?)obj["metadata"]?["namespace"], (string)obj["metadata"]!["name"]!,
                new DeleteOptions { PropagationPolicy = policy, PreconditionUid = (string?)obj["metadata"]?["uid"] });
            return true;
        }
        catch (ApiException e) when (e.Code is 404 or 409)
        {
            return false;
        }
    }

    private bool RemoveFinalizer(ResourceType type, string? ns, string name, string finalizer)
    {
        var current = ops.Store.Get(type.StorageKey, ns, name);
        if (current?["metadata"]?["finalizers"] is not JsonArray finalizers)
        {
            return false;
        }

        foreach (var f in finalizers.Where(f => (string?)f == finalizer).ToList())
        {
            finalizers.Remove(f);
        }

        if (finalizers.Count == 0)
        {
            current["metadata"]!.AsObject().Remove("finalizers");
        }

        var stored = ops.Store.Put(type.StorageKey, current);
        ops.RemoveIfFinalized(type, stored);
        return true;
    }

    private bool RemoveOwnerReference(string storageKey, JsonObject dependent, string ownerUid)
    {
        var meta = dependent["metadata"]!.AsObject();
        var current = ops.Store.Get(storageKey, (string?)meta["namespace"], (string)meta["name"]!);
        if (current?["metadata"]?["ownerReferences"] is not JsonArray refs)
        {
            return false;
        }

        var removed = refs.Where(r => (string?)r?["uid"] == ownerUid).ToList();
        if (removed.Count == 0)
        {
            return false;
        }

        foreach (var r in removed)
        {
            refs.Remove(r);
        }

        if (refs.Count == 0)
        {
            current["metadata"]!.AsObject().Remove("ownerReferences");
        }

        ops.Store.Put(storageKey, current);
        return true;
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "garbage collection pass failed")]
    private partial void LogPassFailed(Exception e);
}
