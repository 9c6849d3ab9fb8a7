namespace K8sTraining.Deploy.Tests.Support;

/// <summary>Named sets of chart values that users install with; every chart test runs over all of them.</summary>
public static class ValueSets
{
    public const string Default = "default";
    public const string Namespaced = "namespaced";
    public const string ClusterWide = "cluster-wide";
    public const string ServiceMonitorOn = "service-monitor-on";
    public const string PodMonitorOn = "pod-monitor-on";
    public const string PodMonitorNamespaced = "pod-monitor-namespaced";
    public const string CustomImages = "custom-images";
    public const string SingleReplicaNoLeaderElection = "single-replica-no-leader-election";
    public const string ExistingServiceAccount = "existing-service-account";

    public static readonly IReadOnlyDictionary<string, string> All = new Dictionary<string, string>
    {
        [Default] = "{}\n",
        [Namespaced] = """
            watchNamespaces: [team-a, team-b]
            """,
        [ClusterWide] = """
            watchNamespaces: []
            operator:
              replicas: 3
            """,
        [ServiceMonitorOn] = """
            metrics:
              serviceMonitor:
                enabled: true
                interval: 15s
                labels:
                  release: kube-prometheus-stack
            """,
        [PodMonitorOn] = """
            metrics:
              podMonitor:
                enabled: true
                interval: 15s
                labels:
                  release: kube-prometheus-stack
            """,
        [PodMonitorNamespaced] = """
            watchNamespaces: [team-a, team-b]
            metrics:
              podMonitor:
                enabled: true
                namespace: monitoring
            """,
        [CustomImages] = """
            operator:
              image:
                repository: registry.example.com:5000/ml/k8straining-operator
                tag: 1.2.3-rc.1
                pullPolicy: Always
              progressIntervalSeconds: 0
              imagePullSecrets:
                - name: registry-credentials
            checkpointSync:
              image: registry.example.com:5000/ml/checkpoint-sync@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
            """,
        [SingleReplicaNoLeaderElection] = """
            operator:
              replicas: 1
              leaderElection:
                enabled: false
            """,
        [ExistingServiceAccount] = """
            serviceAccount:
              create: false
              name: platform-operator
            rbac:
              create: true
            """,
    };

    public static TheoryData<string> Names
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var name in All.Keys)
            {
                data.Add(name);
            }

            return data;
        }
    }
}
