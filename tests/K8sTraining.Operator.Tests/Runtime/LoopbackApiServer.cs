using System.Net;

namespace K8sTraining.Operator.Tests.Runtime;

/// <summary>
/// A plain-HTTP listener on a free loopback port and a kubeconfig for it with an anonymous user (as the local cluster
/// writes): what a test needs to see the requests of a client built from a kubeconfig. Disposing stops the listener
/// and deletes the file.
/// </summary>
internal sealed class LoopbackApiServer : IDisposable
{
    private LoopbackApiServer(HttpListener listener, string kubeconfig)
    {
        Listener = listener;
        Kubeconfig = kubeconfig;
    }

    public HttpListener Listener { get; }

    public string Kubeconfig { get; }

    public static LoopbackApiServer Start()
    {
        var listener = new HttpListener();
        var port = FreePort.Next();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var path = Path.Combine(Path.GetTempPath(), $"kubeconfig-{Guid.NewGuid():N}");
        File.WriteAllText(path, $$"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: c
              cluster:
                server: http://127.0.0.1:{{port}}
            contexts:
            - name: c
              context:
                cluster: c
                user: u
            current-context: c
            users:
            - name: u
              user: {}
            """);
        return new LoopbackApiServer(listener, path);
    }

    public void Dispose()
    {
        ((IDisposable)Listener).Dispose();
        File.Delete(Kubeconfig);
    }
}
