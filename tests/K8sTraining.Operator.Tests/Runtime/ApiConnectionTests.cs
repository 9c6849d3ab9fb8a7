using System.Net;
using System.Text;
using K8sTraining.Operator.Runtime;
using k8s;
using Microsoft.Extensions.DependencyInjection;

namespace K8sTraining.Operator.Tests.Runtime;

/// <summary>
/// How the operator's client uses its connections: a watch's connection is never reused for a list or a write (the
/// chaos suite's api faults once lost a status write's response on a connection an early-closed watch had held, and
/// the job's reconcile waited on it for good), and a request that waits long for an answer is logged.
/// </summary>
public sealed class ApiConnectionTests
{
    [Theory]
    [Trait("Category", "Unit")]
    [InlineData("a watch", "/api/v1/pods?watch=true&resourceVersion=5", true)]
    [InlineData("a watch, watch=1", "/api/v1/pods?watch=1", true)]
    [InlineData("a list", "/api/v1/pods?watch=false", false)]
    [InlineData("a list without the parameter", "/api/v1/pods", false)]
    [InlineData("a name that is not the parameter", "/api/v1/pods?nowatch=true", false)]
    public void IsWatch_Should_TellAWatchFromAnyOtherRequest_When_GivenItsUri(string name, string path, bool expected)
    {
        Assert.True(WatchConnectionClose.IsWatch(new Uri("http://127.0.0.1" + path)) == expected, name);
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task Client_Should_CloseAWatchsConnectionAndKeepAListsAlive_When_BuiltByAddTrainingJobOperator()
    {
        using var api = LoopbackApiServer.Start();
        var server = api.Listener;
        var services = new ServiceCollection().AddLogging().AddTrainingJobOperator(new OperatorOptions { Kubeconfig = api.Kubeconfig, Identity = "conn" });
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IKubernetes>();

        var list = client.CoreV1.ListNamespacedPodAsync("ns");
        var listed = await AnswerAsync(server, """{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"5"},"items":[]}""" + "\n");
        await list.WaitAsync(TimeSpan.FromSeconds(20));
#pragma warning disable CS0618 // the informers watch through the *WithHttpMessagesAsync(watch: true) calls too
        var watch = client.CoreV1.ListNamespacedPodWithHttpMessagesAsync("ns", watch: true, resourceVersion: "5", timeoutSeconds: 1);
#pragma warning restore CS0618
        var watched = await AnswerAsync(server, """{"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"6"}}}""" + "\n");
        (await watch.WaitAsync(TimeSpan.FromSeconds(20))).Dispose();

        Assert.Equal((true, false), (listed, watched));
    }

    [Fact]
    [Trait("Category", "Unit")]
    public async Task SlowRequestLog_Should_WarnAndThenSayWhenItEnded_When_ARequestWaitsPastTheThreshold()
    {
        var logged = new CapturedLog();
        var log = new SlowRequestLog(logged, TimeProvider.System, TimeSpan.FromMilliseconds(100))
        {
            InnerHandler = new Answer(TimeSpan.FromMilliseconds(600)),
        };
        using var http = new HttpClient(log);

        using var slow = await http.PutAsync(new Uri("http://127.0.0.1:9/apis/g/v1/namespaces/ns/things/a/status"), new StringContent("{}"));
        using var watch = await http.GetAsync(new Uri("http://127.0.0.1:9/apis/g/v1/things?watch=true"));

        Assert.Equal(
            ["API request PUT /apis/g/v1/namespaces/ns/things/a/status has had no response for 0.1s", "API request PUT /apis/g/v1/namespaces/ns/things/a/status ended after"],
            logged.Messages.Select(l => l.Contains("ended after", StringComparison.Ordinal) ? l[..l.IndexOf(" after", StringComparison.Ordinal)] + " after" : l));
    }

    [Fact]
    [Trait("Category", "Unit")]
    public async Task SlowRequestLog_Should_SayNothing_When_TheAnswerComesInTime()
    {
        var logged = new CapturedLog();
        var log = new SlowRequestLog(logged, TimeProvider.System, TimeSpan.FromSeconds(5)) { InnerHandler = new Answer(TimeSpan.Zero) };
        using var http = new HttpClient(log);

        using var quick = await http.GetAsync(new Uri("http://127.0.0.1:9/api/v1/pods"));

        Assert.Empty(logged.Lines);
    }

    /// <summary>Answers the next request with <paramref name="body"/>; returns whether the client asked to keep the connection.</summary>
    private static async Task<bool> AnswerAsync(HttpListener server, string body)
    {
        var context = await server.GetContextAsync().WaitAsync(TimeSpan.FromSeconds(20));
        var keepAlive = context.Request.KeepAlive;
        var bytes = Encoding.UTF8.GetBytes(body);
        context.Response.ContentType = "application/json";
        await context.Response.OutputStream.WriteAsync(bytes);
        context.Response.Close();
        return keepAlive;
    }

    private sealed class Answer(TimeSpan after) : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            await Task.Delay(after, cancellationToken);
            return new HttpResponseMessage(HttpStatusCode.OK) { RequestMessage = request, Content = new StringContent("{}") };
        }
    }
}
