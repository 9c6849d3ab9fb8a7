using System.Globalization;
using K8sTraining.LocalCluster.Hosting;
using K8sTraining.Metrics.Tests.Support;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Reconciliation;
using K8sTraining.Operator.Runtime;
using k8s;
using k8s.Models;

namespace K8sTraining.Metrics.Tests.Cluster;

/// <summary>
/// The whole story under a real Prometheus: the local control plane runs the published operator's trainer pods as
/// processes, a job is evicted twice and suspended, and Prometheus scrapes the operator and the trainer every second.
/// Then every documented metric is there with its labels, every dashboard panel has data, and the status agrees with
/// the trainer's metrics.
/// </summary>
[Trait("Category", "Integration")]
public sealed class ClusterScrapeTests
{
    private const string JobName = "mnist";

    [Fact]
    public async Task Dashboard_Should_ShowDataInEveryPanel_When_OperatorAndTrainerAreScrapedThroughPreemptions()
    {
        var operatorDll = RepositoryPaths.Published("operator", "K8sTraining.Operator.dll");
        RepositoryPaths.Published("trainer", "K8sTraining.Trainer.dll");
        var scratch = Directory.CreateTempSubdirectory("k8straining-metrics-cluster-").FullName;
        try
        {
            await using var plane = await LocalControlPlane.StartAsync(new LocalControlPlaneOptions
            {
                StartNodeAgent = true,
                RepositoryRoot = RepositoryPaths.Root,
                StateDirectory = Path.Combine(scratch, "state"),
                ConfigureNodeAgent = o => new K8sTraining.NodeAgent.NodeAgentOptions
                {
                    ClientConfiguration = OperatorServiceCollectionExtensions.LoadKubeconfig(o.KubeconfigPath!),
                    RepositoryRoot = o.RepositoryRoot,
                    NodeName = o.NodeName,
                    RootDirectory = o.RootDirectory,
                    TimeProvider = o.TimeProvider,
                    ImageTablePath = o.ImageTablePath,
                },
            });
            using var client = new Kubernetes(OperatorServiceCollectionExtensions.LoadKubeconfig(plane.KubeconfigPath));
            var crd = KubernetesYaml.Deserialize<V1CustomResourceDefinition>(await File.ReadAllTextAsync(Path.Combine(RepositoryPaths.Root, "crds", "trainingjobs.k8straining.io.yaml")));
            await client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(crd);
            await using var s3 = await S3rverServer.StartAsync();
            var ns = $"metrics-{Guid.NewGuid():N}"[..16];
            await client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns } });
            await client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
            {
                Metadata = new V1ObjectMeta { Name = "s3-credentials", NamespaceProperty = ns },
                StringData = s3.AwsEnvironment.ToDictionary(e => e.Key, e => e.Value),
            }, ns);

            var operatorPort = FreePort.Next();
            var trainerPort = FreePort.Next();
            var started = DateTimeOffset.UtcNow;
            // The trainer is scraped at its pod's own address, which each attempt's pod gets anew: a file_sd file follows
            // the running pod, with a fixed instance label as a PodMonitor's relabelling would give.
            var trainerTargets = Path.Combine(scratch, "trainers.json");
            await File.WriteAllTextAsync(trainerTargets, "[]");
            await using var prometheus = await PrometheusServer.StartAsync([("k8s-training-operator", $"127.0.0.1:{operatorPort}")], [("trainers", trainerTargets)]);
            await using var op = ChildProcess.Start("dotnet", [operatorDll, "--kubeconfig", plane.KubeconfigPath, "--namespaces", ns, "--identity", "op-metrics", "--http-port", operatorPort.ToString(CultureInfo.InvariantCulture)]);
            await Eventually.GetAsync(() => prometheus.QueryAsync("k8straining_operator_leader"), s => s.Count == 1 && s[0].Value == 1, TimeSpan.FromSeconds(60), "Prometheus to scrape the leading operator");

            await client.CustomObjects.CreateNamespacedCustomObjectAsync(new TrainingJob
            {
                Metadata = new V1ObjectMeta { Name = JobName, NamespaceProperty = ns },
                Spec = new TrainingJobSpec
                {
                    // A validation split, so the best validation accuracy panel has data too.
                    Training = new TrainingSpec { Model = "mlp", Dataset = "synthetic", Samples = 2048, ValidationFraction = 0.2, Epochs = 1000, BatchSize = 32, Seed = 7 },
                    Checkpoint = new CheckpointSpec { Uri = $"s3://{S3rverServer.Bucket}/jobs/{ns}/{JobName}", SecretName = "s3-credentials", EverySteps = 20, Keep = 3 },
                    TerminationGracePeriodSeconds = 30,
                    // The port the chart's PodMonitor would scrape by name (at the pod's own address).
                    MetricsPort = trainerPort,
                    Env =
                    [
                        new V1EnvVar { Name = "TRAINER_THREADS", Value = "1" },
                        // About 52 steps an epoch (80 % of 2,048 samples), slowed so that an epoch takes about two scrapes.
                        new V1EnvVar { Name = "K8STRAINING_TEST_STEP_DELAY_MS", Value = "20" },
                    ],
                },
            }, TrainingJob.KubeGroup, TrainingJob.KubeVersion, ns, TrainingJob.KubePlural);

            using var stopFollowing = new CancellationTokenSource();
            var following = FollowTrainerPodAsync(client, ns, trainerPort, trainerTargets, stopFollowing.Token);
            var selector = $"{{job_namespace=\"{ns}\",job_name=\"{JobName}\"}}";
            Task TrainedPastAsync(int attempt, long step) => Eventually.GetAsync(
                async () => (await prometheus.QueryAsync($"k8straining_trainer_global_step{selector}")).Select(s => s.Value).DefaultIfEmpty(-1).Max(),
                seen => seen >= step,
                TimeSpan.FromSeconds(120),
                $"Prometheus to see attempt {attempt} train past step {step}");
            try
            {
                // Two evictions, each once the attempt has trained past an epoch and uploaded a checkpoint.
                for (var attempt = 1; attempt <= 2; attempt++)
                {
                    await WaitForJobAsync(client, ns, j => j.Status?.Attempt == attempt && j.Status.Phase == JobPhases.Running, $"attempt {attempt} running");
                    var from = (await GetJobAsync(client, ns)).Status?.ResumeFrom?.GlobalStep ?? 0;
                    await TrainedPastAsync(attempt, from + 70);
                    if (attempt > 1)
                    {
                        // rate() cannot see a histogram series' first observation: the earlier recovery must be scraped
                        // before the next one, or both could arrive in the series' first sample.
                        await Eventually.GetAsync(
                            () => prometheus.QueryAsync($"k8straining_operator_recovery_seconds_count{{job_namespace=\"{ns}\"}}"),
                            r => r.Sum(x => x.Value) == attempt - 1,
                            TimeSpan.FromSeconds(30),
                            $"Prometheus to hold recovery {attempt - 1} before eviction {attempt}");
                    }

                    var pod = $"{JobName}-attempt-{attempt}";
                    await client.CoreV1.CreateNamespacedPodEvictionAsync(new V1Eviction { Metadata = new V1ObjectMeta { Name = pod, NamespaceProperty = ns } }, pod, ns);
                }

                await WaitForJobAsync(client, ns, j => j.Status?.Attempt == 3 && j.Status.Phase == JobPhases.Running, "attempt 3 running");
                // The last attempt must be scraped a few times before it stops: a trainer that lives less than a scrape
                // interval is never seen (pull-based metrics), and one scraped once cannot know the interval to wait
                // for a final scrape.
                var lastFrom = (await GetJobAsync(client, ns)).Status?.ResumeFrom?.GlobalStep ?? 0;
                await TrainedPastAsync(3, lastFrom + 70);
                await Eventually.GetAsync(() => prometheus.QueryAsync("k8straining_operator_recovery_seconds_count"), s => s.Sum(x => x.Value) == 2, TimeSpan.FromSeconds(30), "two recoveries in Prometheus");

                // Suspending stops the last attempt for good: its final position is in the status and must be in Prometheus.
                await client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch("{\"spec\":{\"suspend\":true}}", V1Patch.PatchType.MergePatch), TrainingJob.KubeGroup, TrainingJob.KubeVersion, ns, TrainingJob.KubePlural, JobName);
                var suspended = await WaitForJobAsync(client, ns, j => j.Status?.Phase == JobPhases.Suspended && j.Status.LastTermination?.Attempt == 3 && j.Status.Progress is not null, "Suspended after attempt 3");
                await Eventually.GetAsync(() => prometheus.QueryAsync($"k8straining_operator_jobs{{job_namespace=\"{ns}\",phase=\"Suspended\"}}"), s => s.Count == 1 && s[0].Value == 1, TimeSpan.FromSeconds(30), "the Suspended phase in Prometheus");

                // Status and metrics agree: same step, same epoch.
                var progress = suspended.Status!.Progress!;
                Assert.Equal(progress.GlobalStep, (long)await LatestAsync(prometheus, $"last_over_time(k8straining_trainer_global_step{selector}[10m])"));
                Assert.Equal(progress.Epoch, (int)await LatestAsync(prometheus, $"last_over_time(k8straining_trainer_epoch{selector}[10m])"));
                Assert.Equal(2, suspended.Status.Preemptions);
                Assert.Equal(2, await LatestAsync(prometheus, $"k8straining_operator_preemptions_total{{job_namespace=\"{ns}\",job_name=\"{JobName}\",reason=\"EvictionByEvictionAPI\"}}"));
                Assert.Equal(0, await LatestAsync(prometheus, $"sum(k8straining_operator_preemptions_total{{job_namespace=\"{ns}\",reason!=\"EvictionByEvictionAPI\"}})"));
                Assert.Equal(1, await LatestAsync(prometheus, $"last_over_time(k8straining_trainer_resumes_total{selector}[10m])"));

                // Every documented metric, operator and trainer, with exactly its documented labels; nothing undocumented.
                var series = await prometheus.SeriesAsync("k8straining_.*");
                var documented = MetricsDoc.Metrics();
                MetricAssertions.AllExportedWithDocumentedLabels(documented, series);
                MetricAssertions.NoneUndocumented(documented, series, "k8straining_");
                Assert.All(series, s => Assert.All(s.Values, v => Assert.DoesNotContain(S3rverServer.AccessKey, v, StringComparison.Ordinal)));
                Assert.DoesNotContain(series, s => s.Values.Any(v => v.StartsWith($"{JobName}-attempt-", StringComparison.Ordinal)));

                // Every panel's every query, sent as Grafana sends it (a range query over the test's time range, for this
                // namespace and job), returns data.
                // Prometheus evaluates a range query at fixed steps: poll briefly until the newest samples are inside one.
                async Task<List<string>> PanelsWithoutDataAsync()
                {
                    var range = DateTimeOffset.UtcNow - started;
                    var rangeText = $"{(int)Math.Ceiling(range.TotalSeconds)}s";
                    var missing = new List<string>();
                    foreach (var query in Support.Dashboard.Load().Queries)
                    {
                        var promql = Support.Dashboard.Render(query.Expression, ns, JobName, "1m", rangeText);
                        var result = await prometheus.QueryRangeAsync(promql, started, TimeSpan.FromSeconds(2));
                        if (!result.Any(r => r.Values.Count > 0))
                        {
                            missing.Add($"{query.Panel} ({query.RefId}): {promql}");
                        }
                    }

                    return missing;
                }

                var empty = await PanelsWithoutDataAsync();
                var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(20);
                while (empty.Count > 0 && DateTimeOffset.UtcNow < deadline)
                {
                    await Task.Delay(TimeSpan.FromSeconds(1));
                    empty = await PanelsWithoutDataAsync();
                }

                Assert.True(empty.Count == 0, "Panels without data:\n" + string.Join("\n", empty));
            }
            catch
            {
                Console.Error.WriteLine($"operator output:\n{op.Output}");
                throw;
            }
            finally
            {
                await stopFollowing.CancelAsync();
                await following;
            }
        }
        finally
        {
            try
            {
                Directory.Delete(scratch, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>Keeps the file_sd file pointing at the running trainer pod's address until cancelled.</summary>
    private static async Task FollowTrainerPodAsync(IKubernetes client, string ns, int port, string file, CancellationToken cancellationToken)
    {
        string? written = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var pod = (await client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: cancellationToken)).Items
                    .FirstOrDefault(p => p.Status?.Phase == "Running" && !string.IsNullOrEmpty(p.Status.PodIP));
                var target = pod is null ? null : $"{pod.Status.PodIP}:{port.ToString(CultureInfo.InvariantCulture)}";
                if (target is not null && target != written)
                {
                    await PrometheusServer.WriteFileTargetsAsync(file, target, new Dictionary<string, string> { ["instance"] = "trainer" });
                    written = target;
                }

                await Task.Delay(200, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException or k8s.Autorest.HttpOperationException or IOException)
            {
                // The API or the file was busy: look again.
            }
        }
    }

    private static async Task<TrainingJob> GetJobAsync(IKubernetes client, string ns) =>
        await client.CustomObjects.GetNamespacedCustomObjectAsync<TrainingJob>(TrainingJob.KubeGroup, TrainingJob.KubeVersion, ns, TrainingJob.KubePlural, JobName);

    private static Task<TrainingJob> WaitForJobAsync(IKubernetes client, string ns, Func<TrainingJob, bool> done, string what) =>
        Eventually.GetAsync(() => GetJobAsync(client, ns), done, TimeSpan.FromSeconds(120), $"{ns}/{JobName}: {what}");

    private static async Task<double> LatestAsync(PrometheusServer prometheus, string query)
    {
        var samples = await prometheus.QueryAsync(query);
        return samples.Count == 0 ? throw new Xunit.Sdk.XunitException($"no data for {query}") : samples.Max(s => s.Value);
    }
}
