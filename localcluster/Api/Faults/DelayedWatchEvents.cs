using System.Threading.Channels;
using K8sTraining.LocalCluster.Storage;

namespace K8sTraining.LocalCluster.Api.Faults;

/// <summary>A watch's changes, each released <c>delay</c> after the store published it, in order.</summary>
public static class DelayedWatchEvents
{
    /// <summary>
    /// Reads <paramref name="source"/> as it fills and releases each event into the returned reader once it is
    /// <paramref name="delay"/> old; completes when the source does or <paramref name="stop"/> is cancelled.
    /// </summary>
    public static ChannelReader<WatchEvent> Delay(ChannelReader<WatchEvent> source, TimeSpan delay, TimeProvider time, Action onDelayed, CancellationToken stop)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(onDelayed);
        var held = Channel.CreateUnbounded<(WatchEvent Event, DateTimeOffset Due)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var output = Channel.CreateUnbounded<WatchEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        _ = Task.Run(async () =>
        {
            try
            {
                await foreach (var e in source.ReadAllAsync(stop))
                {
                    held.Writer.TryWrite((e, time.GetUtcNow() + delay));
                }
            }
            catch (OperationCanceledException)
            {
                // the watch ended
            }
            finally
            {
                held.Writer.TryComplete();
            }
        }, CancellationToken.None);
        _ = Task.Run(async () =>
        {
            try
            {
                await foreach (var (e, due) in held.Reader.ReadAllAsync(stop))
                {
                    var wait = due - time.GetUtcNow();
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait, time, stop);
                    }

                    onDelayed();
                    output.Writer.TryWrite(e);
                }
            }
            catch (OperationCanceledException)
            {
                // the watch ended
            }
            finally
            {
                output.Writer.TryComplete();
            }
        }, CancellationToken.None);
        return output.Reader;
    }
}
