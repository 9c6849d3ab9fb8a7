using System.Collections.Concurrent;
using System.Net;
using System.Text;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Runtime;
using k8s;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace K8sTraining.Operator.Tests.Runtime;

/// <summary>
/// A watch the server ends before its first line (its timeout or an early close before the first bookmark) is an
/// ordinary end: the real client reports it as <see cref="HttpRequestException"/> over <see cref="EndOfStreamException"/>,
/// and the informer watches again from the same resourceVersion, at once, without calling the watch broken.
/// </summary>
public sealed class EmptyWatchTests
{
    [Fact]
    [Trait("Category", "Integration")]
    public async Task Informer_Should_WatchAgainWithoutRelistOrWarning_When_TheServerEndsWatchesBeforeTheirFirstLine()
    {
        using var server = LoopbackApiServer.Start();
        var requests = new ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();
        var serving = ServeAsync(server.Listener, requests, stop.Token);
        var logged = new CapturedLog();
        var services = new ServiceCollection().AddLogging().AddTrainingJobOperator(new OperatorOptions { Kubeconfig = server.Kubeconfig, Identity = "empty-watch" });
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IKubernetes>();
        var informer = new Informer<TrainingJob>("trainingjobs in ns", new KubernetesApi(client, "empty-watch").JobsListWatch("ns"), raw => KubernetesJson.Deserialize<TrainingJob>(raw), 1, logged);

        var run = informer.RunAsync(stop.Token);
        await informer.Synced.WaitAsync(TimeSpan.FromSeconds(20));
        await Eventually.TrueAsync(() => requests.Count(IsWatch) >= 4, what: "four watches, each ended empty");
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(20));
        await serving.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(1, requests.Count(r => !IsWatch(r)));
        Assert.All(requests.Where(IsWatch), r => Assert.Contains("resourceVersion=11", r, StringComparison.Ordinal));
        Assert.DoesNotContain(logged.Lines, l => l.Level >= LogLevel.Warning);
    }

    private static bool IsWatch(string pathAndQuery) => WatchConnectionClose.IsWatch(new Uri("http://127.0.0.1" + pathAndQuery));

    /// <summary>Lists one empty page at resourceVersion 11; answers every watch with a 200 whose chunked body ends at once.</summary>
    private static async Task ServeAsync(HttpListener listener, ConcurrentQueue<string> requests, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync().WaitAsync(stop);
            }
            catch (Exception e) when (e is OperationCanceledException or HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            var pathAndQuery = context.Request.Url!.PathAndQuery;
            requests.Enqueue(pathAndQuery);
            context.Response.ContentType = "application/json";
            if (IsWatch(pathAndQuery))
            {
                context.Response.SendChunked = true;
            }
            else
            {
                var body = Encoding.UTF8.GetBytes("""{"apiVersion":"k8straining.io/v1alpha1","kind":"TrainingJobList","metadata":{"resourceVersion":"11"},"items":[]}""");
                await context.Response.OutputStream.WriteAsync(body, stop);
            }

            context.Response.Close();
        }
    }
}
