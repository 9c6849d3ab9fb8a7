namespace K8sTraining.LocalCluster.Hosting;

/// <summary>The kubeconfig of the local cluster: cluster, user and context all named "local".</summary>
public static class Kubeconfig
{
    public static string Render(Uri server) => $"""
        apiVersion: v1
        kind: Config
        clusters:
        - name: local
          cluster:
            server: {server.GetLeftPart(UriPartial.Authority)}
        users:
        - name: local
          user:
            # The local API server does no authentication; KubernetesClient wants some credential.
            token: local
        contexts:
        - name: local
          context:
            cluster: local
            user: local
            namespace: default
        current-context: local
        preferences: {"{}"}

        """;

    public static void Write(string path, Uri server)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null)
        {
            Directory.CreateDirectory(dir);
        }

        var temp = path + ".tmp";
        File.WriteAllText(temp, Render(server));
        File.Move(temp, path, overwrite: true);
    }
}
