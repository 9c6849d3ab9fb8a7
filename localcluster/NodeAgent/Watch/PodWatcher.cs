using System.Net;
using K8sTraining.NodeAgent.Pods;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace K8sTraining.NodeAgent.Watch;

/// <summary>
/// The kubelet's view of its pods, as a reflector keeps it: list with fieldSelector spec.nodeName=NODE, then watch from
/// the list's resourceVersion with bookmarks and a server-side timeout (re-watching from the last version seen), relist
/// on 410 Gone or any error event, and a client-side deadline so a watch that hangs silently is dropped.
/// </summary>
internal sealed class PodWatcher(IKubernetes client, string nodeName, TimeSpan watchTimeout, ILogger logger, TimeProvider time)
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    public async Task RunAsync(IPodSink sink, CancellationToken cancellationToken)
    {
        var fieldSelector = $"spec.nodeName={nodeName}";
        string? resourceVersion = null;
        var backoff = TimeSpan.FromMilliseconds(100);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (resourceVersion is null)
                {
                    var list = await client.CoreV1.ListPodForAllNamespacesAsync(fieldSelector: fieldSelector, cancellationToken: cancellationToken).ConfigureAwait(false);
                    sink.Resync(list.Items.ToArray());
                    resourceVersion = list.Metadata.ResourceVersion;
                }

                var (lastVersion, relist) = await WatchOnceAsync(sink, fieldSelector, resourceVersion, cancellationToken).ConfigureAwait(false);
                resourceVersion = relist ? null : lastVersion;
                backoff = TimeSpan.FromMilliseconds(100);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Gone)
            {
                Log.WatchGone(logger, resourceVersion ?? string.Empty);
                resourceVersion = null;
            }
            catch (Exception e) when (e is HttpOperationException or HttpRequestException or IOException or KubernetesException or OperationCanceledException or System.Text.Json.JsonException)
            {
                Log.WatchFailed(logger, e);
                try
                {
                    await Task.Delay(backoff, time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
        }
    }

    private async Task<(string? ResourceVersion, bool Relist)> WatchOnceAsync(IPodSink sink, string fieldSelector, string? resourceVersion, CancellationToken cancellationToken)
    {
        // Like a reflector: a random timeout in [t, 2t) so that many watchers do not reconnect together.
        var seconds = (int)Math.Max(1, watchTimeout.TotalSeconds * (1 + Random.Shared.NextDouble()));
        using var guard = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        guard.CancelAfter(TimeSpan.FromSeconds(seconds + 30));
        var relist = false;
        void OnError(Exception e)
        {
            // An ERROR event carries a Status: 410 Gone (too old resource version) or another failure; either way the
            // cache cannot be trusted to follow on, so list again.
            relist = true;
            if (e is KubernetesException { Status.Code: 410 })
            {
                Log.WatchGone(logger, resourceVersion ?? string.Empty);
            }
            else
            {
                Log.WatchFailed(logger, e);
            }
        }

        try
        {
            var events = client.CoreV1.WatchListPodForAllNamespacesAsync(
                allowWatchBookmarks: true,
                fieldSelector: fieldSelector,
                resourceVersion: resourceVersion,
                timeoutSeconds: seconds,
                onError: OnError,
                cancellationToken: guard.Token);
            await foreach (var (type, pod) in events.ConfigureAwait(false))
            {
                if (pod?.Metadata?.ResourceVersion is { } version)
                {
                    resourceVersion = version;
                }

                switch (type)
                {
                    case WatchEventType.Added or WatchEventType.Modified:
                        sink.Upsert(pod!);
                        break;
                    case WatchEventType.Deleted:
                        sink.Remove(pod!);
                        break;
                }

                if (relist)
                {
                    break;
                }
            }
        }
        catch (HttpRequestException e) when (e.InnerException is EndOfStreamException)
        {
            // KubernetesClient reads the first line of a watch eagerly: a watch that times out without a single event
            // ends this way. Nothing was missed; watch again from the same version.
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The client-side deadline: the server did not end the watch in time. Watch again from where we are.
        }

        return (resourceVersion, relist);
    }
}
