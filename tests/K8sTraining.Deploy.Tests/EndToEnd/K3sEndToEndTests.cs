using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using K8sTraining.Deploy.Tests.Support;
using Minio;
using Minio.DataModel.Args;
using Testcontainers.K3s;
using Xunit.Abstractions;

namespace K8sTraining.Deploy.Tests.EndToEnd;

/// <summary>
/// The chart on a real cluster: build both images, start k3s in Docker, load the images, helm install, run a
/// TrainingJob with checkpoints in MinIO, evict its pod mid-run and watch the replacement resume and finish.
/// Needs Docker and registry access (k3s, MinIO and the .NET base images are pulled); skipped without Docker.
/// </summary>
public sealed class K3sEndToEndTests(ITestOutputHelper output)
{
    private const string Tag = "e2e";
    private const string TrainerImage = "ghcr.io/k8straining/trainer:" + Tag;
    private const string OperatorImage = "ghcr.io/k8straining/operator:" + Tag;
    private const string JobNamespace = "default";
    private const string JobName = "e2e-preemption";
    private const string Bucket = "k8straining";
    private const int MinioNodePort = 30900;
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(15);

    [DockerFact]
    public async Task Chart_Should_RunAJobThatResumesAfterEviction_When_InstalledOnK3s()
    {
        using var timeout = new CancellationTokenSource(Deadline);
        var ct = timeout.Token;

        await RunAsync("docker", ["build", "-f", "Dockerfile.trainer", "--build-arg", "WITH_FASHION_MNIST=false", "-t", TrainerImage, "."], ct);
        await RunAsync("docker", ["build", "-f", "operator/Dockerfile", "-t", OperatorImage, "."], ct);

        var k3sImage = Environment.GetEnvironmentVariable("K8STRAINING_E2E_K3S_IMAGE") ?? "rancher/k3s:v1.32.3-k3s1";
        await using var k3s = new K3sBuilder(k3sImage).WithPortBinding(MinioNodePort, true).Build();
        await k3s.StartAsync(ct);
        await RunAsync("bash", ["-c", $"docker save {TrainerImage} {OperatorImage} | docker exec -i {k3s.Id} ctr -n k8s.io images import -"], ct);

        var kubeconfigPath = Path.Combine(Path.GetTempPath(), $"k8straining-e2e-{Guid.NewGuid():N}.kubeconfig");
        await File.WriteAllTextAsync(kubeconfigPath, await k3s.GetKubeconfigAsync(), ct);
        try
        {
            await RunAsync(RepositoryPaths.Helm, [
                "install", "kt", RepositoryPaths.Chart, "--kubeconfig", kubeconfigPath,
                "--namespace", "k8s-training-system", "--create-namespace", "--wait", "--timeout", "5m",
                "--set", $"operator.image.tag={Tag}", "--set", "operator.image.pullPolicy=Never"], ct);

            var config = KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfigPath);
            using var client = new Kubernetes(config);
            await StartMinioAsync(client, k3s, ct);
            await CreateJobAsync(client, ct);

            // a durable checkpoint in the store means the eviction lands mid-run with something to resume from
            var minio = MinioFor(k3s);
            await EventuallyAsync("a checkpoint is committed to S3", async () =>
                (await ObjectNamesAsync(minio, $"jobs/{JobName}/", ct)).Contains($"jobs/{JobName}/latest.json"), ct);
            var firstPod = await EventuallyAsync("the job names its active pod", async () =>
                (string?)(await GetJobAsync(client, ct))["status"]?["activePod"], ct);
            await client.CoreV1.CreateNamespacedPodEvictionAsync(
                new V1Eviction { Metadata = new V1ObjectMeta { Name = firstPod, NamespaceProperty = JobNamespace } },
                firstPod, JobNamespace, cancellationToken: ct);

            var status = await EventuallyAsync("the job succeeds after the eviction", async () =>
            {
                var job = await GetJobAsync(client, ct);
                output.WriteLine(job["status"]?.ToJsonString() ?? "(no status)");
                return (string?)job["status"]?["phase"] == "Succeeded" ? job["status"] : null;
            }, ct);

            Assert.Equal(1, (int?)status!["preemptions"]);
            Assert.Equal(0, (int?)status["restarts"]);
            Assert.True((long?)status["resumeFrom"]?["globalStep"] > 0, $"the replacement did not resume from a checkpoint: {status.ToJsonString()}");
            Assert.Equal(2, (int?)status["attempt"]); // one replacement, no duplicate
        }
        finally
        {
            File.Delete(kubeconfigPath);
        }
    }

    private static async Task StartMinioAsync(Kubernetes client, K3sContainer k3s, CancellationToken ct)
    {
        var labels = new Dictionary<string, string> { ["app"] = "minio" };
        await client.AppsV1.CreateNamespacedDeploymentAsync(new V1Deployment
        {
            Metadata = new V1ObjectMeta { Name = "minio" },
            Spec = new V1DeploymentSpec
            {
                Selector = new V1LabelSelector { MatchLabels = labels },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = labels },
                    Spec = new V1PodSpec
                    {
                        Containers =
                        [
                            new V1Container
                            {
                                Name = "minio",
                                Image = "quay.io/minio/minio:latest",
                                Args = ["server", "/data"],
                                Env =
                                [
                                    new V1EnvVar { Name = "MINIO_ROOT_USER", Value = "e2e-access" },
                                    new V1EnvVar { Name = "MINIO_ROOT_PASSWORD", Value = "e2e-secret-key" },
                                ],
                                Ports = [new V1ContainerPort { ContainerPort = 9000 }],
                            },
                        ],
                    },
                },
            },
        }, JobNamespace, cancellationToken: ct);
        await client.CoreV1.CreateNamespacedServiceAsync(new V1Service
        {
            Metadata = new V1ObjectMeta { Name = "minio" },
            Spec = new V1ServiceSpec
            {
                Type = "NodePort",
                Selector = labels,
                Ports = [new V1ServicePort { Port = 9000, NodePort = MinioNodePort, TargetPort = 9000 }],
            },
        }, JobNamespace, cancellationToken: ct);

        var minio = MinioFor(k3s);
        await EventuallyAsync("MinIO accepts the bucket", async () =>
        {
            try
            {
                await minio.MakeBucketAsync(new MakeBucketArgs().WithBucket(Bucket), ct);
                return true;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return false;
            }
        }, ct);
    }

    private static async Task CreateJobAsync(Kubernetes client, CancellationToken ct)
    {
        await client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "s3-credentials" },
            StringData = new Dictionary<string, string>
            {
                ["AWS_ACCESS_KEY_ID"] = "e2e-access",
                ["AWS_SECRET_ACCESS_KEY"] = "e2e-secret-key",
                ["AWS_REGION"] = "us-east-1",
                ["AWS_ENDPOINT_URL"] = $"http://minio.{JobNamespace}.svc.cluster.local:9000",
            },
        }, JobNamespace, cancellationToken: ct);

        var job = JsonNode.Parse($$"""
            {
              "apiVersion": "k8straining.io/v1alpha1",
              "kind": "TrainingJob",
              "metadata": {"name": "{{JobName}}"},
              "spec": {
                "image": "{{TrainerImage}}",
                "imagePullPolicy": "Never",
                "training": {"model": "mlp", "dataset": "synthetic", "samples": 200000, "epochs": 3, "batchSize": 32,
                             "learningRate": 0.01, "optimizer": "sgd", "seed": 7},
                "checkpoint": {"uri": "s3://{{Bucket}}/jobs/{{JobName}}", "secretName": "s3-credentials", "everySteps": 100, "keep": 2},
                "maxRestarts": 0,
                "terminationGracePeriodSeconds": 60
              }
            }
            """)!;
        await client.CustomObjects.CreateNamespacedCustomObjectAsync(job, "k8straining.io", "v1alpha1", JobNamespace, "trainingjobs", cancellationToken: ct);
    }

    private static async Task<JsonNode> GetJobAsync(Kubernetes client, CancellationToken ct)
    {
        var job = await client.CustomObjects.GetNamespacedCustomObjectAsync("k8straining.io", "v1alpha1", JobNamespace, "trainingjobs", JobName, ct);
        return JsonNode.Parse(JsonSerializer.Serialize(job))!;
    }

    private static IMinioClient MinioFor(K3sContainer k3s) => new MinioClient()
        .WithEndpoint(k3s.Hostname, k3s.GetMappedPublicPort(MinioNodePort))
        .WithCredentials("e2e-access", "e2e-secret-key")
        .Build();

    private static async Task<HashSet<string>> ObjectNamesAsync(IMinioClient minio, string prefix, CancellationToken ct)
    {
        var names = new HashSet<string>();
        await foreach (var item in minio.ListObjectsEnumAsync(new ListObjectsArgs().WithBucket(Bucket).WithPrefix(prefix).WithRecursive(true), ct))
        {
            names.Add(item.Key);
        }

        return names;
    }

    private static async Task EventuallyAsync(string what, Func<Task<bool>> condition, CancellationToken ct) =>
        await EventuallyAsync<object>(what, async () => await condition() ? new object() : null, ct);

    private static async Task<T> EventuallyAsync<T>(string what, Func<Task<T?>> probe, CancellationToken ct)
    {
        while (true)
        {
            if (ct.IsCancellationRequested)
            {
                throw new TimeoutException($"timed out waiting until {what}");
            }

            if (await probe() is { } value)
            {
                return value;
            }

            await Task.Delay(TimeSpan.FromSeconds(2), ct).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    private async Task RunAsync(string fileName, IEnumerable<string> arguments, CancellationToken ct)
    {
        var result = await ProcessRunner.RunAsync(fileName, arguments, timeout: TimeSpan.FromMinutes(10), cancellationToken: ct);
        output.WriteLine(result.StandardOutput);
        Assert.True(result.ExitCode == 0, $"{fileName} failed: {result.Describe()}");
    }
}
