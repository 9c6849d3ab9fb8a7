using k8s;
using k8s.Models;
using K8sTraining.TestSupport;

namespace K8sTraining.ClusterSupport;

/// <summary>Polls a namespace's pods every 50 ms and remembers the most that were alive at once, by the test's own rule of alive.</summary>
public sealed class PodCensus : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public PodCensus(IKubernetes client, string ns, Func<V1Pod, bool> alive)
    {
        _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    var pods = (await client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: _stop.Token)).Items;
                    MaxAliveAtOnce = Math.Max(MaxAliveAtOnce, pods.Count(alive));
                    await Task.Delay(50, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        });
    }

    public int MaxAliveAtOnce { get; private set; }

    public void Dispose()
    {
        _stop.Cancel();
        _loop.Wait(TimeSpan.FromSeconds(5));
        _stop.Dispose();
    }
}
