using K8sTraining.NodeAgent.Containers;
using k8s.Models;

namespace K8sTraining.LocalCluster.Tests.NodeAgent;

[Trait("Category", "Unit")]
public sealed class ContainerEnvironmentTests
{
    private static readonly NodeContext Node = new("127.0.0.1", "127.0.0.1", 2, 8L << 30,
        new Dictionary<string, string> { ["KUBERNETES_SERVICE_HOST"] = "127.0.0.1" });

    private static readonly FakeConfigSource Config = new FakeConfigSource()
        .WithSecret("ml", "s3-credentials", ("AWS_ACCESS_KEY_ID", "S3RVER"), ("AWS_SECRET_ACCESS_KEY", "secret"))
        .WithConfigMap("ml", "settings", ("epochs", "3"), ("dir", "/ckpt/run"));

    private static V1Pod Pod(params V1EnvVar[] env) => Pod(env, []);

    private static V1Pod Pod(V1EnvVar[] env, V1EnvFromSource[] envFrom) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = "job-attempt-1",
            NamespaceProperty = "ml",
            Uid = "0c8a-uid",
            Labels = new Dictionary<string, string> { ["k8straining.io/job"] = "job" },
            Annotations = new Dictionary<string, string> { ["k8straining.io/attempt"] = "1" },
        },
        Spec = new V1PodSpec
        {
            NodeName = "local-node",
            ServiceAccountName = "trainer",
            Containers =
            [
                new V1Container
                {
                    Name = "trainer",
                    Image = "ghcr.io/k8straining/trainer:1",
                    Env = env,
                    EnvFrom = envFrom,
                    Resources = new V1ResourceRequirements
                    {
                        Limits = new Dictionary<string, ResourceQuantity> { ["memory"] = new("1Gi") },
                        Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("500m") },
                    },
                },
            ],
        },
    };

    private static Task<IReadOnlyDictionary<string, string>> BuildAsync(V1Pod pod, PathMapper? paths = null) =>
        new ContainerEnvironment(Config, Node).BuildAsync(pod, pod.Spec.Containers[0], paths ?? PathMapper.Empty, CancellationToken.None);

    private static V1EnvVar Field(string name, string path) =>
        new() { Name = name, ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = path } } };

    [Fact]
    public async Task BuildAsync_Should_ResolveDownwardApiFields_When_FieldRefsAreGiven()
    {
        var env = await BuildAsync(Pod(
            Field("POD_NAME", "metadata.name"),
            Field("POD_NAMESPACE", "metadata.namespace"),
            Field("POD_UID", "metadata.uid"),
            Field("JOB", "metadata.labels['k8straining.io/job']"),
            Field("ATTEMPT", "metadata.annotations['k8straining.io/attempt']"),
            Field("NODE", "spec.nodeName"),
            Field("SA", "spec.serviceAccountName"),
            Field("POD_IP", "status.podIP")));

        Assert.Equal("job-attempt-1", env["POD_NAME"]);
        Assert.Equal("ml", env["POD_NAMESPACE"]);
        Assert.Equal("0c8a-uid", env["POD_UID"]);
        Assert.Equal("job", env["JOB"]);
        Assert.Equal("1", env["ATTEMPT"]);
        Assert.Equal("local-node", env["NODE"]);
        Assert.Equal("trainer", env["SA"]);
        Assert.Equal("127.0.0.1", env["POD_IP"]);
    }

    [Fact]
    public async Task BuildAsync_Should_ReadSecretAndConfigMapKeys_When_KeyRefsAreGiven()
    {
        var env = await BuildAsync(Pod(
            new V1EnvVar { Name = "KEY", ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = "s3-credentials", Key = "AWS_ACCESS_KEY_ID" } } },
            new V1EnvVar { Name = "EPOCHS", ValueFrom = new V1EnvVarSource { ConfigMapKeyRef = new V1ConfigMapKeySelector { Name = "settings", Key = "epochs" } } }));

        Assert.Equal("S3RVER", env["KEY"]);
        Assert.Equal("3", env["EPOCHS"]);
    }

    [Fact]
    public async Task BuildAsync_Should_SkipVariable_When_OptionalSecretIsMissing()
    {
        var env = await BuildAsync(Pod(
            new V1EnvVar { Name = "MAYBE", ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = "absent", Key = "k", Optional = true } } },
            new V1EnvVar { Name = "MAYBE_KEY", ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = "s3-credentials", Key = "nope", Optional = true } } }));

        Assert.False(env.ContainsKey("MAYBE"));
        Assert.False(env.ContainsKey("MAYBE_KEY"));
    }

    [Fact]
    public async Task BuildAsync_Should_FailLikeTheKubelet_When_RequiredSecretOrKeyIsMissing()
    {
        var missingSecret = await Assert.ThrowsAsync<ContainerConfigException>(() => BuildAsync(Pod(
            new V1EnvVar { Name = "X", ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = "absent", Key = "k" } } })));
        var missingKey = await Assert.ThrowsAsync<ContainerConfigException>(() => BuildAsync(Pod(
            new V1EnvVar { Name = "X", ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = "s3-credentials", Key = "nope" } } })));

        Assert.Equal("secret \"absent\" not found", missingSecret.Message);
        Assert.Equal("couldn't find key nope in Secret ml/s3-credentials", missingKey.Message);
    }

    [Fact]
    public async Task BuildAsync_Should_LetEnvOverrideEnvFromAndExpandEarlierNames_When_Both()
    {
        var env = await BuildAsync(Pod(
            [
                new V1EnvVar { Name = "CFG_epochs", Value = "7" },
                new V1EnvVar { Name = "RUN", Value = "run-$(CFG_epochs)-$(LATER)-$(KUBERNETES_SERVICE_HOST)" },
                new V1EnvVar { Name = "LATER", Value = "late" },
            ],
            [
                new V1EnvFromSource { Prefix = "CFG_", ConfigMapRef = new V1ConfigMapEnvSource { Name = "settings" } },
                new V1EnvFromSource { SecretRef = new V1SecretEnvSource { Name = "s3-credentials" } },
            ]));

        Assert.Equal("7", env["CFG_epochs"]);
        Assert.Equal("secret", env["AWS_SECRET_ACCESS_KEY"]);
        Assert.Equal("run-7-$(LATER)-127.0.0.1", env["RUN"]);
    }

    [Fact]
    public async Task BuildAsync_Should_MapMountPaths_When_ValuesPointIntoVolumes()
    {
        var paths = new PathMapper([("/ckpt", "/node/pod/volumes/ckpt"), ("/dev/termination-log", "/node/pod/c/termination-log")]);
        var env = await BuildAsync(
            Pod(
                [
                    new V1EnvVar { Name = "TRAINER_TERMINATION_LOG", Value = "/dev/termination-log" },
                    new V1EnvVar { Name = "TRAINER_CHECKPOINT_DIR", Value = "/ckpt/job" },
                    new V1EnvVar { Name = "FROM_MAP", ValueFrom = new V1EnvVarSource { ConfigMapKeyRef = new V1ConfigMapKeySelector { Name = "settings", Key = "dir" } } },
                ],
                []),
            paths);

        Assert.Equal("/node/pod/c/termination-log", env["TRAINER_TERMINATION_LOG"]);
        Assert.Equal("/node/pod/volumes/ckpt/job", env["TRAINER_CHECKPOINT_DIR"]);
        Assert.Equal("/node/pod/volumes/ckpt/run", env["FROM_MAP"]);
    }

    [Fact]
    public async Task BuildAsync_Should_GiveLimitsAndRequests_When_ResourceFieldRefsAreGiven()
    {
        static V1EnvVar Resource(string name, string resource, string? divisor = null) => new()
        {
            Name = name,
            ValueFrom = new V1EnvVarSource
            {
                ResourceFieldRef = new V1ResourceFieldSelector { Resource = resource, Divisor = divisor is null ? null : new ResourceQuantity(divisor) },
            },
        };

        var env = await BuildAsync(Pod(
            Resource("MEM_MI", "limits.memory", "1Mi"),
            Resource("CPU_LIMIT", "limits.cpu"),
            Resource("CPU_REQUEST_M", "requests.cpu", "1m")));

        Assert.Equal("1024", env["MEM_MI"]);
        Assert.Equal("2", env["CPU_LIMIT"]);
        Assert.Equal("500", env["CPU_REQUEST_M"]);
    }
}
