using System.Text.Json.Nodes;
using K8sTraining.LocalCluster.Api;
using K8sTraining.LocalCluster.Resources;
using K8sTraining.NodeAgent.Lifecycle;
using Microsoft.Extensions.Logging;

namespace K8sTraining.LocalCluster.Controllers.Nodes;

/// <summary>
/// kube-controller-manager's node lifecycle controller with its taint manager, pod GC's orphan sweep, and a double of
/// a cloud provider's node controller, in one loop that wakes every NodeMonitorPeriod (sooner when an eviction is due):
/// <list type="bullet">
/// <item>a node unheard of (Lease and status) for the grace period becomes Ready=Unknown (NodeStatusUnknown) and gets
/// the unreachable NoSchedule and NoExecute taints (not-ready ones when its kubelet posts Ready=False); its pods'
/// Ready condition turns False;</item>
/// <item>the taint manager evicts the pods that do not tolerate a NoExecute taint, after their tolerationSeconds:
/// DisruptionTarget=True reason DeletionByTaintManager first, then a graceful delete (the pod stays Terminating until
/// a kubelet confirms);</item>
/// <item>the cloud double deletes a Node frozen with kill once it has been not Ready for CloudNodeDeletionDelay (by
/// default at once): its VM is gone;</item>
/// <item>pod GC: pods bound to a Node gone for the quarantine time get DisruptionTarget reason DeletionByPodGC, phase
/// Failed, and are deleted with grace 0.</item>
/// </list>
/// </summary>
public sealed partial class NodeLifecycleController(ResourceOperations ops, NodeLifecycleOptions options, TimeProvider time, ILogger<NodeLifecycleController> logger) : IAsyncDisposable
{
    public const string DeletionByPodGC = "DeletionByPodGC";

    private static readonly string[] ManagedTaintKeys = [Taint.Unreachable, Taint.NotReady];

    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<string, DateTimeOffset> _missingSince = new(StringComparer.Ordinal);
    private DateTimeOffset _nextPodGc = DateTimeOffset.MinValue;
    private Task? _loop;

    public void Start() => _loop = Task.Run(() => RunAsync(_stop.Token));

    private async Task RunAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var wait = options.NodeMonitorPeriod;
            try
            {
                var now = time.GetUtcNow();
                var nextEviction = ops.Store.Atomically(() => Pass(now));
                if (nextEviction is { } due && due - now < wait)
                {
                    wait = due - now;
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogPassFailed(e);
            }

            try
            {
                await Task.Delay(wait > TimeSpan.FromMilliseconds(20) ? wait : TimeSpan.FromMilliseconds(20), time, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One sweep; returns when the next eviction (or node deletion) is due, if any.</summary>
    private DateTimeOffset? Pass(DateTimeOffset now)
    {
        var nodes = ops.Store.List(BuiltinResources.Nodes.StorageKey, null).Items;
        var leases = ops.Store.List(BuiltinResources.Leases.StorageKey, "kube-node-lease").Items
            .ToDictionary(l => (string)l["metadata"]!["name"]!, StringComparer.Ordinal);
        var pods = ops.Store.List(BuiltinResources.Pods.StorageKey, null).Items;
        var podsByNode = pods.Where(p => (string?)p["spec"]?["nodeName"] is { Length: > 0 })
            .GroupBy(p => (string)p["spec"]!["nodeName"]!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        DateTimeOffset? nextEviction = null;
        foreach (var node in nodes)
        {
            var name = (string)node["metadata"]!["name"]!;
            var verdict = MonitorNode(node, leases.GetValueOrDefault(name), now);
            var onNode = podsByNode.GetValueOrDefault(name) ?? [];
            if (verdict.ReadyStatus != "True")
            {
                MarkPodsNotReady(onNode);
            }

            var current = ops.Store.Get(BuiltinResources.Nodes.StorageKey, null, name) ?? node;
            var notReadySince = Conditions.Time(Conditions.Find(current, "Ready")?["lastTransitionTime"]) ?? now;
            var killed = verdict.ReadyStatus != "True" && (string?)node["metadata"]?["annotations"]?[NodeFreeze.Annotation] == NodeFreeze.Kill;
            if (killed && now - notReadySince < options.CloudNodeDeletionDelay)
            {
                var at = notReadySince + options.CloudNodeDeletionDelay;
                nextEviction = nextEviction is null || at < nextEviction ? at : nextEviction;
            }
            else if (killed)
            {
                // The cloud provider's node controller: the instance behind this Node no longer exists.
                try
                {
                    ops.Delete(BuiltinResources.Nodes, null, name, new DeleteOptions { PreconditionUid = (string?)node["metadata"]?["uid"] });
                    LogNodeDeleted(name);
                }
                catch (ApiException e) when (e.Code is 404 or 409)
                {
                    // gone already
                }

                continue;
            }

            var taints = Taint.Of(current);
            foreach (var pod in onNode)
            {
                if (EvictIfDue(pod, taints, now) is { } due && (nextEviction is null || due < nextEviction))
                {
                    nextEviction = due;
                }
            }
        }

        if (now >= _nextPodGc)
        {
            _nextPodGc = now + options.PodGcPeriod;
            CollectOrphans(nodes.Select(n => (string)n["metadata"]!["name"]!).ToHashSet(StringComparer.Ordinal), podsByNode, now);
        }

        return nextEviction;
    }

    private NodeHealthVerdict MonitorNode(JsonObject node, JsonObject? lease, DateTimeOffset now)
    {
        var name = (string)node["metadata"]!["name"]!;
        var ready = Conditions.Find(node, "Ready");
        var heartbeat = new[] { Conditions.Time(lease?["spec"]?["renewTime"]), Conditions.Time(ready?["lastHeartbeatTime"]) }.Max();
        var observation = new NodeObservation(
            Conditions.Time(node["metadata"]?["creationTimestamp"]) ?? now,
            heartbeat,
            (string?)ready?["status"]);
        var verdict = NodeHealth.Evaluate(observation, now, options.NodeMonitorGracePeriod, options.NodeStartupGracePeriod);
        var changed = false;
        if (verdict.ControllerWritesCondition && (string?)ready?["status"] != "Unknown")
        {
            var condition = new JsonObject
            {
                ["type"] = "Ready",
                ["status"] = "Unknown",
                ["lastHeartbeatTime"] = ready?["lastHeartbeatTime"]?.DeepClone(),
                ["lastTransitionTime"] = ops.Now(),
                ["reason"] = verdict.Reason,
                ["message"] = verdict.Message,
            };
            var status = node["status"] as JsonObject ?? new JsonObject();
            node["status"] = status;
            var conditions = status["conditions"] as JsonArray ?? new JsonArray();
            status["conditions"] = conditions;
            if (ready is not null)
            {
                conditions[conditions.IndexOf(ready)] = condition;
            }
            else
            {
                conditions.Add(condition);
            }

            changed = true;
            LogNodeUnknown(name, verdict.Message!);
        }

        changed |= SetTaints(node, verdict.NoExecuteTaint, now);
        if (changed)
        {
            ops.Store.Put(BuiltinResources.Nodes.StorageKey, node);
        }

        return verdict;
    }

    /// <summary>The unreachable or not-ready taints (NoSchedule and NoExecute) this controller owns, as the verdict
    /// says; the time a kept taint was added stays.</summary>
    private bool SetTaints(JsonObject node, string? key, DateTimeOffset now)
    {
        var spec = node["spec"] as JsonObject ?? new JsonObject();
        node["spec"] = spec;
        var taints = spec["taints"] as JsonArray ?? new JsonArray();
        var changed = false;
        foreach (var taint in taints.OfType<JsonObject>().ToList())
        {
            var k = (string?)taint["key"];
            if (ManagedTaintKeys.Contains(k) && k != key)
            {
                taints.Remove(taint);
                changed = true;
            }
        }

        if (key is not null)
        {
            foreach (var effect in new[] { Taint.NoSchedule, Taint.NoExecute })
            {
                if (!taints.OfType<JsonObject>().Any(t => (string?)t["key"] == key && (string?)t["effect"] == effect))
                {
                    var taint = new JsonObject { ["key"] = key, ["effect"] = effect };
                    if (effect == Taint.NoExecute)
                    {
                        taint["timeAdded"] = ResourceOperations.Timestamp(now);
                    }

                    taints.Add(taint);
                    changed = true;
                }
            }
        }

        if (changed)
        {
            if (taints.Count == 0)
            {
                spec.Remove("taints");
            }
            else
            {
                spec["taints"] = taints;
            }
        }

        return changed;
    }

    private void MarkPodsNotReady(List<JsonObject> pods)
    {
        foreach (var pod in pods)
        {
            if ((string?)pod["status"]?["phase"] is "Succeeded" or "Failed" || Conditions.Find(pod, "Ready") is not { } ready || (string?)ready["status"] == "False")
            {
                continue;
            }

            var current = ops.Store.Get(BuiltinResources.Pods.StorageKey, (string?)pod["metadata"]!["namespace"], (string)pod["metadata"]!["name"]!);
            if (current is not null && Conditions.Set(current, "Ready", "False", null, null, ops.Now()))
            {
                ops.Store.Put(BuiltinResources.Pods.StorageKey, current);
            }
        }
    }

    private DateTimeOffset? EvictIfDue(JsonObject pod, IReadOnlyList<Taint> taints, DateTimeOffset now)
    {
        if (pod["metadata"]?["deletionTimestamp"] is not null)
        {
            return null;
        }

        var due = TaintEviction.EvictAt(taints, Toleration.Of(pod), now);
        if (due is null || due > now)
        {
            return due;
        }

        var ns = (string)pod["metadata"]!["namespace"]!;
        var name = (string)pod["metadata"]!["name"]!;
        var current = ops.Store.Get(BuiltinResources.Pods.StorageKey, ns, name);
        if (current is null)
        {
            return null;
        }

        if (Conditions.Set(current, "DisruptionTarget", "True", TaintEviction.DeletionByTaintManager, "Taint manager: deleting due to NoExecute taint", ops.Now()))
        {
            ops.Store.Put(BuiltinResources.Pods.StorageKey, current);
        }

        try
        {
            ops.Delete(BuiltinResources.Pods, ns, name, new DeleteOptions { PreconditionUid = (string?)current["metadata"]?["uid"] });
            PodEvents.Record(ops, current, "taint-eviction-controller", "Normal", "TaintManagerEviction", $"Marking for deletion Pod {ns}/{name}");
            LogEvicted(ns, name, string.Join(", ", taints.Where(t => t.Effect == Taint.NoExecute)));
        }
        catch (ApiException e) when (e.Code is 404 or 409)
        {
            // gone or replaced meanwhile
        }

        return null;
    }

    private void CollectOrphans(HashSet<string> nodes, Dictionary<string, List<JsonObject>> podsByNode, DateTimeOffset now)
    {
        foreach (var gone in _missingSince.Keys.Where(n => nodes.Contains(n) || !podsByNode.ContainsKey(n)).ToList())
        {
            _missingSince.Remove(gone);
        }

        foreach (var (node, pods) in podsByNode)
        {
            if (nodes.Contains(node))
            {
                continue;
            }

            if (!_missingSince.TryGetValue(node, out var since))
            {
                _missingSince[node] = now;
                since = now;
            }

            if (now - since < options.PodGcOrphanQuarantine)
            {
                continue;
            }

            foreach (var pod in pods)
            {
                var ns = (string)pod["metadata"]!["namespace"]!;
                var name = (string)pod["metadata"]!["name"]!;
                var current = ops.Store.Get(BuiltinResources.Pods.StorageKey, ns, name);
                if (current is null)
                {
                    continue;
                }

                var changed = Conditions.Set(current, "DisruptionTarget", "True", DeletionByPodGC, "PodGC: node no longer exists", ops.Now());
                if ((string?)current["status"]?["phase"] is not ("Succeeded" or "Failed"))
                {
                    current["status"]!["phase"] = "Failed";
                    changed = true;
                }

                if (changed)
                {
                    ops.Store.Put(BuiltinResources.Pods.StorageKey, current);
                }

                try
                {
                    ops.Delete(BuiltinResources.Pods, ns, name, new DeleteOptions { GracePeriodSeconds = 0, PreconditionUid = (string?)current["metadata"]?["uid"] });
                    LogOrphanDeleted(ns, name, node);
                }
                catch (ApiException e) when (e.Code is 404 or 409)
                {
                    // gone meanwhile
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }

        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "node lifecycle pass failed")]
    private partial void LogPassFailed(Exception e);

    [LoggerMessage(Level = LogLevel.Information, Message = "node {Node} is Ready=Unknown: {Message}")]
    private partial void LogNodeUnknown(string node, string message);

    [LoggerMessage(Level = LogLevel.Information, Message = "deleted node {Node}: frozen with kill, its instance is gone")]
    private partial void LogNodeDeleted(string node);

    [LoggerMessage(Level = LogLevel.Information, Message = "taint manager: evicting {Namespace}/{Name} ({Taints})")]
    private partial void LogEvicted(string @namespace, string name, string taints);

    [LoggerMessage(Level = LogLevel.Information, Message = "pod GC: deleting {Namespace}/{Name}, its node {Node} no longer exists")]
    private partial void LogOrphanDeleted(string @namespace, string name, string node);
}
