namespace K8sTraining.Operator.Tests.Runtime;

/// <summary>A kubeconfig file for a plain-HTTP test server on loopback, with an anonymous user (as the local cluster writes).</summary>
internal static class AnonymousKubeconfig
{
    /// <summary>Writes one for http://127.0.0.1:<paramref name="port"/> into the temp directory; the caller deletes it.</summary>
    public static string Write(int port)
    {
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
        return path;
    }
}
