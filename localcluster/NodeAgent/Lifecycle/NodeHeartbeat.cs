using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using K8sTraining.NodeAgent.Containers;
using K8sTraining.NodeAgent.Pods;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace K8sTraining.NodeAgent.Lifecycle;

/// <summary>
/// The kubelet's node status loop: registers the Node (again, if it was deleted while the agent lives), renews its
/// Lease in kube-node-lease every renew interval, and posts the Node's status (Ready=True with a fresh
/// lastHeartbeatTime) at the report frequency, or at once when the Ready condition is not True (say, the node
/// lifecycle controller marked it Unknown while the node was frozen). Silent while <paramref name="frozen"/> says so.
/// </summary>
internal sealed class NodeHeartbeat(IKubernetes client, NodeAgentOptions options, NodeContext node, Func<bool> frozen, ILogger logger)
{
    public const string LeaseNamespace = "kube-node-lease";

    private DateTime _lastReport = DateTime.MinValue;

    /// <summary>Beats until cancelled; <paramref name="wake"/> makes the next beat come at once (after unfreezing).</summary>
    public async Task RunAsync(SemaphoreSlim wake, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            if (!frozen())
            {
                try
                {
                    var current = await EnsureNodeAsync(cancellationToken).ConfigureAwait(false);
                    await RenewLeaseAsync(current, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is HttpOperationException or HttpRequestException or IOException or KubernetesException
                    || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
                {
                    Log.NodeRegistrationFailed(logger, e, options.NodeName);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    // Stopped in the middle of a beat (the agent shutting down): a clean stop, not a failure.
                    return;
                }
            }

            try
            {
                await wake.WaitAsync(options.NodeLeaseRenewInterval, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task<V1Node> EnsureNodeAsync(CancellationToken cancellationToken)
    {
        V1Node current;
        try
        {
            current = await client.CoreV1.ReadNodeAsync(options.NodeName, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            current = await client.CoreV1.CreateNodeAsync(new V1Node
            {
                Metadata = new V1ObjectMeta
                {
                    Name = options.NodeName,
                    Labels = new Dictionary<string, string>
                    {
                        ["kubernetes.io/hostname"] = options.NodeName,
                        ["kubernetes.io/os"] = "linux",
                        ["kubernetes.io/arch"] = Architecture(),
                    },
                },
            }, cancellationToken: cancellationToken).ConfigureAwait(false);
            _lastReport = DateTime.MinValue;
        }

        var now = options.TimeProvider.GetUtcNow().UtcDateTime;
        var ready = current.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready");
        if (ready?.Status == "True" && now - _lastReport < options.NodeStatusReportFrequency)
        {
            return current;
        }

        var resources = new Dictionary<string, ResourceQuantity>
        {
            ["cpu"] = new(node.Cpus.ToString(CultureInfo.InvariantCulture)),
            ["memory"] = new($"{node.MemoryBytes / 1024}Ki"),
            ["pods"] = new("110"),
        };
        current.Status = new V1NodeStatus
        {
            Capacity = resources,
            Allocatable = resources,
            Addresses = [new V1NodeAddress { Address = options.HostIP, Type = "InternalIP" }, new V1NodeAddress { Address = options.NodeName, Type = "Hostname" }],
            Conditions =
            [
                new V1NodeCondition
                {
                    Type = "Ready",
                    Status = "True",
                    Reason = "KubeletReady",
                    Message = "local node agent is posting ready status",
                    LastHeartbeatTime = now,
                    LastTransitionTime = ready?.Status == "True" ? ready.LastTransitionTime : now,
                },
            ],
            NodeInfo = new V1NodeSystemInfo
            {
                Architecture = Architecture(),
                OperatingSystem = "linux",
                OsImage = RuntimeInformation.OSDescription,
                KernelVersion = Environment.OSVersion.Version.ToString(),
                KubeletVersion = "v1.32.0-k8straining-local",
                KubeProxyVersion = string.Empty,
                ContainerRuntimeVersion = "local-process://1",
                BootID = string.Empty,
                MachineID = string.Empty,
                SystemUUID = string.Empty,
            },
        };
        current = await client.CoreV1.ReplaceNodeStatusAsync(current, options.NodeName, cancellationToken: cancellationToken).ConfigureAwait(false);
        _lastReport = now;
        return current;
    }

    /// <summary>GOARCH, as a kubelet reports it.</summary>
    private static string Architecture() => RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.Arm64 ? "arm64" : "amd64";

    /// <summary>The Lease kube-node-lease/NODE, owned by the Node (so it goes with it), renewed now.</summary>
    private async Task RenewLeaseAsync(V1Node owner, CancellationToken cancellationToken)
    {
        var now = options.TimeProvider.GetUtcNow().UtcDateTime;
        var seconds = (int)Math.Max(1, Math.Round(options.NodeLeaseDuration.TotalSeconds));
        V1Lease? lease;
        try
        {
            lease = await client.CoordinationV1.ReadNamespacedLeaseAsync(options.NodeName, LeaseNamespace, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            lease = null;
        }

        if (lease is null)
        {
            await client.CoordinationV1.CreateNamespacedLeaseAsync(new V1Lease
            {
                Metadata = new V1ObjectMeta
                {
                    Name = options.NodeName,
                    NamespaceProperty = LeaseNamespace,
                    OwnerReferences = [new V1OwnerReference { ApiVersion = "v1", Kind = "Node", Name = owner.Metadata.Name, Uid = owner.Metadata.Uid }],
                },
                Spec = new V1LeaseSpec { HolderIdentity = options.NodeName, LeaseDurationSeconds = seconds, RenewTime = now },
            }, LeaseNamespace, cancellationToken: cancellationToken).ConfigureAwait(false);
            return;
        }

        lease.Spec ??= new V1LeaseSpec();
        lease.Spec.HolderIdentity = options.NodeName;
        lease.Spec.LeaseDurationSeconds = seconds;
        lease.Spec.RenewTime = now;
        await client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, options.NodeName, LeaseNamespace, cancellationToken: cancellationToken).ConfigureAwait(false);
    }
}
