namespace K8sTraining.Chaos.Cluster;

/// <summary>
/// An invariant checked by polling in the background: <c>look</c> runs every interval until <see cref="Stop"/> and
/// returns a problem or null; the first problem is kept. An API error in one look is skipped (the next look retries).
/// </summary>
public sealed class PollingCheck : IDisposable
{
    private readonly CancellationTokenSource stop = new();
    private readonly Task loop;

    public PollingCheck(TimeSpan interval, Func<CancellationToken, Task<string?>> look)
    {
        ArgumentNullException.ThrowIfNull(look);
        loop = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    if (await look(stop.Token) is { } problem && Problem is null)
                    {
                        Problem = problem;
                    }

                    await Task.Delay(interval, stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (k8s.Autorest.HttpOperationException)
                {
                }
            }
        });
    }

    /// <summary>The first problem a look found, or null.</summary>
    public string? Problem { get; private set; }

    public void Stop()
    {
        if (!stop.IsCancellationRequested)
        {
            stop.Cancel();
            loop.Wait(TimeSpan.FromSeconds(5));
        }
    }

    public void Dispose()
    {
        Stop();
        stop.Dispose();
    }
}
