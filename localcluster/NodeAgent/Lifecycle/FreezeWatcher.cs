using System.Net;
using K8sTraining.NodeAgent.Pods;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace K8sTraining.NodeAgent.Lifecycle;

/// <summary>
/// Watches the agent's own Node (fieldSelector metadata.name=NODE) for the freeze annotation, through a link a freeze
/// does not cut: list, then watch from the list's version, relisting on 410 Gone or errors. Reports every value seen
/// (null: no annotation); a deleted Node reports nothing, so a frozen node whose Node is deleted stays frozen.
/// </summary>
internal sealed class FreezeWatcher(IKubernetes client, string nodeName, TimeSpan watchTimeout, ILogger logger, TimeProvider time)
{
    public async Task RunAsync(Action<string?> onFreeze, CancellationToken cancellationToken)
    {
        var fieldSelector = $"metadata.name={nodeName}";
        string? resourceVersion = null;
        var backoff = TimeSpan.FromMilliseconds(100);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (resourceVersion is null)
                {
                    var list = await client.CoreV1.ListNodeAsync(fieldSelector: fieldSelector, cancellationToken: cancellationToken).ConfigureAwait(false);
                    foreach (var node in list.Items)
                    {
                        onFreeze(FreezeOf(node));
                    }

                    resourceVersion = list.Metadata.ResourceVersion;
                }

                resourceVersion = await WatchOnceAsync(onFreeze, fieldSelector, resourceVersion, cancellationToken).ConfigureAwait(false);
                backoff = TimeSpan.FromMilliseconds(100);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpOperationException or HttpRequestException or IOException or KubernetesException or OperationCanceledException or System.Text.Json.JsonException)
            {
                if (e is not HttpOperationException { Response.StatusCode: HttpStatusCode.Gone })
                {
                    Log.WatchFailed(logger, e);
                }

                resourceVersion = null;
                try
                {
                    await Task.Delay(backoff, time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    public static string? FreezeOf(V1Node node) =>
        node.Metadata?.Annotations is { } annotations && annotations.TryGetValue(NodeFreeze.Annotation, out var value) ? value : null;

    /// <summary>One watch; returns the version to resume from, or null to list again.</summary>
    private async Task<string?> WatchOnceAsync(Action<string?> onFreeze, string fieldSelector, string resourceVersion, CancellationToken cancellationToken)
    {
        var seconds = (int)Math.Max(1, watchTimeout.TotalSeconds * (1 + Random.Shared.NextDouble()));
        using var guard = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        guard.CancelAfter(TimeSpan.FromSeconds(seconds + 30));
        string? version = resourceVersion;
        var relist = false;
        try
        {
            var events = client.CoreV1.WatchListNodeAsync(
                allowWatchBookmarks: true,
                fieldSelector: fieldSelector,
                resourceVersion: resourceVersion,
                timeoutSeconds: seconds,
                onError: _ => relist = true,
                cancellationToken: guard.Token);
            await foreach (var (type, node) in events.ConfigureAwait(false))
            {
                if (node?.Metadata?.ResourceVersion is { } v)
                {
                    version = v;
                }

                if (type is WatchEventType.Added or WatchEventType.Modified)
                {
                    onFreeze(FreezeOf(node!));
                }

                if (relist)
                {
                    break;
                }
            }
        }
        catch (HttpRequestException e) when (e.InnerException is EndOfStreamException)
        {
            // A watch that timed out without a single event (see PodWatcher).
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // the client-side deadline
        }

        return relist ? null : version;
    }
}
