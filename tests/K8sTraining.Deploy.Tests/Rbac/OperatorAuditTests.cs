using System.Text;
using System.Text.Json.Nodes;
using K8sTraining.Deploy.Tests.Chart;
using K8sTraining.Deploy.Tests.Support;
using K8sTraining.LocalCluster.Api;
using K8sTraining.LocalCluster.Audit;
using K8sTraining.LocalCluster.Hosting;
using K8sTraining.LocalCluster.Resources;
using K8sTraining.Operator.Pods;
using K8sTraining.Operator.Runtime;
using Xunit.Abstractions;

namespace K8sTraining.Deploy.Tests.Rbac;

/// <summary>
/// The strongest least-privilege check: the published operator, started with the arguments the chart's Deployment
/// gives it, runs jobs through every path against the local control plane, and the API server's audit log of its
/// requests must equal the operator's declared operations, each allowed by the chart's rendered RBAC.
/// The test plays user and kubelet through the control plane's storage directly, so every audited request is the
/// operator's.
/// </summary>
[Trait("Category", "Integration")]
public sealed class OperatorAuditTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    public static TheoryData<string, string> Installs => new()
    {
        { ValueSets.Default, "default" },
        { ValueSets.Namespaced, "team-b" },
    };

    [Theory]
    [MemberData(nameof(Installs))]
    public async Task OperatorRequests_Should_BeExactlyItsDeclaredOperationsAndAllowedByTheChart_When_RunningJobsThroughEveryPath(string valueSet, string jobNamespace)
    {
        var chart = await Renders.OfAsync(valueSet);
        var granted = RbacRules.Granted(chart, ChartOperator.ServiceAccount);

        await using var plane = await LocalControlPlane.StartAsync(new LocalControlPlaneOptions());
        var cluster = new Kubelet(plane.Operations);
        cluster.CreateNamespaces(Helm.ReleaseNamespace, "team-a", "team-b");
        cluster.ApplyCrd(File.ReadAllText(Path.Combine(RepositoryPaths.Chart, "crds", "trainingjobs.k8straining.io.yaml")));

        using var deadline = new CancellationTokenSource(Deadline);
        await using var operatorProcess = ChartOperator.Start(chart, plane.BaseUri, output);
        _operator = operatorProcess;
        try
        {
            // completed: pod created, status written, pod released, job deleted after ttlSecondsAfterFinished 0
            cluster.CreateJob(jobNamespace, "audit-completes", ttlSecondsAfterFinished: 0);
            var first = (await Eventually("the operator creates the first pod", () => cluster.PodOf(jobNamespace, "audit-completes"), deadline.Token))!;
            cluster.Terminate(jobNamespace, first, exitCode: 0, """{"status":"completed","globalStep":10,"epoch":1,"stepInEpoch":0,"checkpoint":null,"checkpointUploaded":true,"testAccuracy":0.5,"message":"done"}""");
            await Eventually("the operator deletes the finished job", () => cluster.JobExists(jobNamespace, "audit-completes") ? null : "gone", deadline.Token);

            // suspended: the running pod is deleted gracefully, then released once the trainer has exited 75
            cluster.CreateJob(jobNamespace, "audit-suspends", ttlSecondsAfterFinished: null);
            var second = (await Eventually("the operator creates the second pod", () => cluster.PodOf(jobNamespace, "audit-suspends"), deadline.Token))!;
            cluster.Run(jobNamespace, second);
            cluster.Suspend(jobNamespace, "audit-suspends");
            await Eventually("the operator deletes the running pod", () => cluster.IsDeleting(jobNamespace, second) ? "deleting" : null, deadline.Token);
            cluster.Terminate(jobNamespace, second, exitCode: 75, """{"status":"preempted","globalStep":20,"epoch":1,"stepInEpoch":10,"checkpoint":"s3://b/p/step-000000000020","checkpointUploaded":true,"testAccuracy":null,"message":"SIGTERM"}""");

            // a name already taken: the create conflicts, and the operator reads the pod that holds the name
            cluster.CreateForeignPod(jobNamespace, PodNames.ForAttempt("audit-conflicts", 1));
            cluster.CreateJob(jobNamespace, "audit-conflicts", ttlSecondsAfterFinished: null);

            // a multi-worker job whose Service name an unowned Service holds: the create conflicts, the operator reads it and adopts it
            cluster.CreateForeignService(jobNamespace, PodNames.ServiceFor("audit-gang"));
            cluster.CreateJob(jobNamespace, "audit-gang", ttlSecondsAfterFinished: null, workers: 2);

            // A watch is audited when it ends (the server logs a request once it is answered), so wait for the rest, then
            // stop the operator: its open watches end and show up.
            var declared = ApiOperations.All.Select(o => o.ToString()).ToHashSet();
            var declaredOnce = ApiOperations.All.Where(o => o.Verb != "watch").Select(o => o.ToString()).ToHashSet();
            await Eventually("the operator has made every request it declares", () =>
                declaredOnce.IsSubsetOf(Operations(plane.AuditLog.Entries)) ? "all" : null, deadline.Token, throwOnTimeout: false);
            await operatorProcess.StopAsync();
            await Eventually("the operator's watches have ended", () =>
                declared.IsSubsetOf(Operations(plane.AuditLog.Entries)) ? "all" : null, deadline.Token, throwOnTimeout: false);
        }
        finally
        {
            await operatorProcess.StopAsync();
            output.WriteLine(string.Join("\n", plane.AuditLog.Entries.Select(e => $"{e.Code} {e.Verb} {e.Path}").Distinct()));
        }

        var audited = plane.AuditLog.Entries;
        Assert.Equal(ApiOperations.All.Select(o => o.ToString()).Order(), Operations(audited).Order());
        var forbidden = audited.Where(e => !Allowed(e, granted)).Select(e => $"{e.Verb} {e.Path}").Distinct().ToList();
        Assert.True(forbidden.Count == 0, $"the chart's RBAC would refuse:\n  {string.Join("\n  ", forbidden)}");
    }

    /// <summary>Whether RBAC allows the request: a namespaced request by a Role there or the ClusterRole, else only the ClusterRole.</summary>
    private static bool Allowed(AuditEntry e, IReadOnlySet<Permission> granted)
    {
        var resource = e.Subresource.Length == 0 ? e.Resource : $"{e.Resource}/{e.Subresource}";
        return granted.Contains(new Permission(Permission.Cluster, e.Group, resource, e.Verb))
            || (e.Namespace.Length > 0 && granted.Contains(new Permission(e.Namespace, e.Group, resource, e.Verb)));
    }

    private static HashSet<string> Operations(IEnumerable<AuditEntry> entries) =>
        entries.Select(e => new ApiOperation(e.Verb, e.Group, e.Resource, e.Subresource).ToString()).ToHashSet();

    private ChartOperator? _operator;

    private async Task<T?> Eventually<T>(string what, Func<T?> probe, CancellationToken ct, bool throwOnTimeout = true)
    {
        while (!ct.IsCancellationRequested)
        {
            if (_operator is { Crashed: true } crashed)
            {
                throw new InvalidOperationException($"the operator exited with {crashed.ExitCode} before {what}");
            }

            if (probe() is { } value)
            {
                return value;
            }

            await Task.Delay(50, CancellationToken.None);
        }

        return throwOnTimeout ? throw new TimeoutException($"timed out waiting until {what}") : default;
    }

    /// <summary>The user and the kubelet, acting on the control plane's storage directly (not audited).</summary>
    private sealed class Kubelet(ResourceOperations ops)
    {
        private ResourceType Jobs => ops.Registry.Find("k8straining.io", "v1alpha1", "trainingjobs")
            ?? throw new InvalidOperationException("the TrainingJob CRD is not registered");

        public void CreateNamespaces(params string[] names)
        {
            foreach (var name in names)
            {
                ops.Create(BuiltinResources.Namespaces, null, new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = name } });
            }
        }

        public void ApplyCrd(string yaml) => ops.Create(BuiltinResources.Crds, null, ResourceOperations.ParseObject(yaml, yamlAllowed: true));

        public void CreateJob(string ns, string name, int? ttlSecondsAfterFinished, int workers = 1)
        {
            var spec = new JsonObject
            {
                ["training"] = new JsonObject { ["model"] = "mlp", ["dataset"] = "synthetic", ["epochs"] = 1 },
            };
            if (workers > 1)
            {
                spec["workers"] = workers;
            }

            if (ttlSecondsAfterFinished is { } ttl)
            {
                spec["ttlSecondsAfterFinished"] = ttl;
            }

            ops.Create(Jobs, ns, Reparsed(new JsonObject
            {
                ["apiVersion"] = "k8straining.io/v1alpha1",
                ["kind"] = "TrainingJob",
                ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
                ["spec"] = spec,
            }));
        }

        /// <summary>A pod the operator does not know: no job label, so its informer never sees it.</summary>
        public void CreateForeignPod(string ns, string name) => ops.Create(BuiltinResources.Pods, ns, Reparsed(new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
            ["spec"] = new JsonObject
            {
                ["containers"] = new JsonArray(new JsonObject { ["name"] = "other", ["image"] = "busybox:1.36", ["command"] = new JsonArray("sleep", "3600") }),
            },
        }));

        /// <summary>A Service nobody owns, holding a name the operator wants.</summary>
        public void CreateForeignService(string ns, string name) => ops.Create(BuiltinResources.Services, ns, Reparsed(new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Service",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
            ["spec"] = new JsonObject
            {
                ["clusterIP"] = "None",
                ["ports"] = new JsonArray(new JsonObject { ["name"] = "other", ["port"] = 80 }),
            },
        }));

        public bool JobExists(string ns, string name) => ops.Store.Get(Jobs.StorageKey, ns, name) is not null;

        public void Suspend(string ns, string name) =>
            ops.Patch(Jobs, ns, name, "application/merge-patch+json", """{"spec":{"suspend":true}}""", statusOnly: false);

        public string? PodOf(string ns, string job) => ops.Store.List(BuiltinResources.Pods.StorageKey, ns).Items
            .Where(p => (string?)p["metadata"]?["labels"]?["k8straining.io/job-name"] == job)
            .Select(p => (string?)p["metadata"]!["name"])
            .FirstOrDefault();

        public bool IsDeleting(string ns, string pod) =>
            ops.Store.Get(BuiltinResources.Pods.StorageKey, ns, pod)?["metadata"]?["deletionTimestamp"] is not null;

        public void Run(string ns, string pod) => PatchStatus(ns, pod, new JsonObject
        {
            ["phase"] = "Running",
            ["containerStatuses"] = new JsonArray(new JsonObject
            {
                ["name"] = "trainer", ["ready"] = true, ["restartCount"] = 0, ["image"] = "ghcr.io/k8straining/trainer:0.1.0", ["imageID"] = "",
                ["state"] = new JsonObject { ["running"] = new JsonObject { ["startedAt"] = ops.Now() } },
            }),
        });

        public void Terminate(string ns, string pod, int exitCode, string message) => PatchStatus(ns, pod, new JsonObject
        {
            ["phase"] = exitCode == 0 ? "Succeeded" : "Failed",
            ["containerStatuses"] = new JsonArray(new JsonObject
            {
                ["name"] = "trainer", ["ready"] = false, ["restartCount"] = 0, ["image"] = "ghcr.io/k8straining/trainer:0.1.0", ["imageID"] = "",
                ["state"] = new JsonObject
                {
                    ["terminated"] = new JsonObject
                    {
                        ["exitCode"] = exitCode, ["reason"] = exitCode == 0 ? "Completed" : "Error", ["message"] = message,
                        ["startedAt"] = ops.Now(), ["finishedAt"] = ops.Now(),
                    },
                },
            }),
        });

        // As if it came over the wire: the server's schema checks read numbers the way JSON text gives them.
        private static JsonObject Reparsed(JsonObject o) => JsonNode.Parse(o.ToJsonString())!.AsObject();

        private void PatchStatus(string ns, string pod, JsonObject status) => ops.Patch(
            BuiltinResources.Pods, ns, pod, "application/merge-patch+json", new JsonObject { ["status"] = status }.ToJsonString(), statusOnly: true);
    }
}
