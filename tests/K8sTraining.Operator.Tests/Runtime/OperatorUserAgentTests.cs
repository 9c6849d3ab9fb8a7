using System.Net;
using System.Text;
using K8sTraining.Operator.Runtime;
using k8s;
using Microsoft.Extensions.DependencyInjection;

namespace K8sTraining.Operator.Tests.Runtime;

/// <summary>Every API request the operator sends names the replica, so its writes can be told apart from anyone else's.</summary>
public sealed class OperatorUserAgentTests
{
    [Theory]
    [Trait("Category", "Unit")]
    [InlineData("plain identity", "op-1", "k8s-training-operator/op-1")]
    [InlineData("host name and pid", "node-a.example-4242", "k8s-training-operator/node-a.example-4242")]
    [InlineData("a space", "my op", "k8s-training-operator/my_op")]
    [InlineData("a line break", "op\r\nX-Evil: 1", "k8s-training-operator/op__X-Evil:_1")]
    [InlineData("non-ASCII", "opé", "k8s-training-operator/op_")]
    [InlineData("empty", "", "k8s-training-operator/")]
    public void For_Should_NameTheReplicaInAValidHeader_When_GivenAnIdentity(string name, string identity, string expected)
    {
        Assert.True(OperatorUserAgent.For(identity) == expected, $"{name}: {OperatorUserAgent.For(identity)}");
    }

    [Theory]
    [Trait("Category", "Unit")]
    [InlineData("a replica", "k8s-training-operator/replica-1", "replica-1")]
    [InlineData("among other products", "curl/8 k8s-training-operator/op-2 extra", "op-2")]
    [InlineData("kubectl", "kubectl/v1.31.0 (linux/amd64)", null)]
    [InlineData("no identity", "k8s-training-operator/", null)]
    [InlineData("a longer product name", "k8s-training-operator-x/op", null)]
    [InlineData("empty", "", null)]
    [InlineData("none", null, null)]
    public void IdentityOf_Should_NameTheReplica_When_TheUserAgentIsAnOperators(string name, string? userAgent, string? expected)
    {
        Assert.True(OperatorUserAgent.IdentityOf(userAgent) == expected, $"{name}: {OperatorUserAgent.IdentityOf(userAgent)}");
    }

    [Theory]
    [Trait("Category", "Unit")]
    [InlineData("op-1")]
    [InlineData("node-a.example-4242")]
    public void IdentityOf_Should_ReadBackTheIdentity_When_ForWroteIt(string identity)
    {
        Assert.Equal(identity, OperatorUserAgent.IdentityOf(OperatorUserAgent.For(identity)));
    }

    [Fact]
    [Trait("Category", "Unit")]
    public async Task CreateClient_Should_SendTheOperatorUserAgent_When_ItReadsAndWrites()
    {
        var seen = new Recorder();
        using var client = OperatorUserAgent.CreateClient(new KubernetesClientConfiguration { Host = "http://127.0.0.1:9" }, "op-7", seen);

        await client.CoreV1.ListNamespacedPodAsync("ns");
        await client.CoreV1.DeleteNamespacedPodAsync("p", "ns");

        Assert.Equal([("GET", "k8s-training-operator/op-7"), ("DELETE", "k8s-training-operator/op-7")], seen.Requests);
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task AddTrainingJobOperator_Should_BuildAClientThatSendsTheOperatorUserAgent_When_GivenAnIdentity()
    {
        using var api = LoopbackApiServer.Start();
        var server = api.Listener;
        var services = new ServiceCollection().AddTrainingJobOperator(new OperatorOptions { Kubeconfig = api.Kubeconfig, Identity = "replica-b" });
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IKubernetes>();

        var call = client.CoreV1.ListNamespaceAsync();
        var context = await server.GetContextAsync().WaitAsync(TimeSpan.FromSeconds(20));
        var userAgent = context.Request.UserAgent;
        var body = Encoding.UTF8.GetBytes("""{"kind":"NamespaceList","apiVersion":"v1","metadata":{},"items":[]}""");
        context.Response.ContentType = "application/json";
        await context.Response.OutputStream.WriteAsync(body);
        context.Response.Close();
        await call.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal("k8s-training-operator/replica-b", userAgent);
    }

    /// <summary>The innermost handler: remembers each request's method and User-Agent and answers an empty object.</summary>
    private sealed class Recorder : DelegatingHandler
    {
        public List<(string Method, string UserAgent)> Requests { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests.Add((request.Method.Method, string.Join(" ", request.Headers.GetValues("User-Agent"))));
            var body = request.Method == HttpMethod.Get
                ? """{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[]}"""
                : """{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p","namespace":"ns"}}""";
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { RequestMessage = request, Content = new StringContent(body, Encoding.UTF8, "application/json") });
        }
    }
}
