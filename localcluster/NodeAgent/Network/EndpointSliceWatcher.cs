using System.Net;
using K8sTraining.NodeAgent.Pods;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace K8sTraining.NodeAgent.Network;

/// <summary>
/// Follows every EndpointSlice of the cluster as a reflector does (list, then watch from the list's resourceVersion
/// with bookmarks and a server-side timeout, relist on 410 Gone or an error event, a client-side deadline against a
/// watch that hangs) and hands the pod network the headless Services' records (<see cref="ServiceHostRecords"/>)
/// after every change: what cluster DNS would serve.
/// </summary>
internal sealed class EndpointSliceWatcher(IKubernetes client, PodNetwork network, TimeSpan watchTimeout, ILogger logger, TimeProvider time)
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);
    private readonly Dictionary<string, V1EndpointSlice> _slices = new(StringComparer.Ordinal);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        string? resourceVersion = null;
        var backoff = TimeSpan.FromMilliseconds(100);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (resourceVersion is null)
                {
                    var list = await client.DiscoveryV1.ListEndpointSliceForAllNamespacesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                    _slices.Clear();
                    foreach (var slice in list.Items)
                    {
                        _slices[Key(slice)] = slice;
                    }

                    Publish();
                    resourceVersion = list.Metadata.ResourceVersion;
                }

                var (lastVersion, relist) = await WatchOnceAsync(resourceVersion, cancellationToken).ConfigureAwait(false);
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
                resourceVersion = null;
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

    private static string Key(V1EndpointSlice slice) => $"{slice.Metadata.NamespaceProperty}/{slice.Metadata.Name}";

    private void Publish() => network.UpdateRecords(ServiceHostRecords.From(_slices.Values));

    private async Task<(string? ResourceVersion, bool Relist)> WatchOnceAsync(string? resourceVersion, CancellationToken cancellationToken)
    {
        var seconds = (int)Math.Max(1, watchTimeout.TotalSeconds * (1 + Random.Shared.NextDouble()));
        using var guard = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        guard.CancelAfter(TimeSpan.FromSeconds(seconds + 30));
        var relist = false;
        void OnError(Exception e)
        {
            relist = true;
            Log.WatchFailed(logger, e);
        }

        try
        {
            var events = client.DiscoveryV1.WatchListEndpointSliceForAllNamespacesAsync(
                allowWatchBookmarks: true,
                resourceVersion: resourceVersion,
                timeoutSeconds: seconds,
                onError: OnError,
                cancellationToken: guard.Token);
            await foreach (var (type, slice) in events.ConfigureAwait(false))
            {
                if (slice?.Metadata?.ResourceVersion is { } version)
                {
                    resourceVersion = version;
                }

                switch (type)
                {
                    case WatchEventType.Added or WatchEventType.Modified:
                        _slices[Key(slice!)] = slice!;
                        Publish();
                        break;
                    case WatchEventType.Deleted:
                        _slices.Remove(Key(slice!));
                        Publish();
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
            // A watch that timed out without a single event: watch again from the same version.
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The client-side deadline.
        }

        return (resourceVersion, relist);
    }
}
