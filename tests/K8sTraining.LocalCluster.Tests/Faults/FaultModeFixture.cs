using K8sTraining.LocalCluster.Tests.ApiServer;
using k8s;

namespace K8sTraining.LocalCluster.Tests.Faults;

/// <summary>A control plane of its own (its fault rules are global to it) and a client that sends a chosen User-Agent.</summary>
public sealed class FaultModeFixture : ControlPlaneFixture
{
    /// <summary>The real client, its requests sent with <paramref name="userAgent"/> (the one fault rules pick).</summary>
    public Kubernetes ClientAs(string userAgent) =>
        new(KubernetesClientConfiguration.BuildConfigFromConfigFile(Plane.KubeconfigPath), new UserAgentHandler(userAgent));

    private sealed class UserAgentHandler(string userAgent) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Headers.UserAgent.Clear();
            request.Headers.UserAgent.ParseAdd(userAgent);
            return base.SendAsync(request, cancellationToken);
        }
    }
}
