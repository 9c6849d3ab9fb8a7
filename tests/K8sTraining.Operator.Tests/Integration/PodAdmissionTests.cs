using K8sTraining.Operator.Api;
using K8sTraining.Operator.Reconciliation;
using k8s;
using k8s.Models;

namespace K8sTraining.Operator.Tests.Integration;

/// <summary>
/// The real operator against the local cluster's admission, which refuses pods as a real API server does: trainer pods
/// pass the <c>restricted</c> Pod Security profile by default, and a pod the API server refuses (a service account
/// that does not exist, a security context the namespace forbids) shows on the job instead of leaving it stuck.
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "Integration")]
public sealed class PodAdmissionTests(ClusterFixture cluster)
{
    [Fact]
    public async Task Operator_Should_RunTheTrainerPod_When_TheNamespaceEnforcesTheRestrictedProfile()
    {
        var ns = await RestrictedNamespaceAsync("restricted");
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-restricted");
        await cluster.CreateJobAsync(ClusterFixture.ScriptJob(ns, "plain", "exit 0"));

        var job = await cluster.WaitForJobAsync(ns, "plain", j => j.Status?.Phase == JobPhases.Succeeded, "Succeeded in a restricted namespace");
        Assert.Equal(0, job.Status!.PodCreateFailures);
        Assert.DoesNotContain(await cluster.EventsAsync(ns), e => e.Reason == EventReasons.PodCreateFailed);
    }

    [Fact]
    public async Task Operator_Should_ShowTheApiServersRefusal_When_TheUsersSecurityContextViolatesTheRestrictedProfile()
    {
        var ns = await RestrictedNamespaceAsync("privesc");
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-privesc");
        await cluster.CreateJobAsync(ClusterFixture.ScriptJob(ns, "escalates", "exit 0", s => s.SecurityContext = new V1SecurityContext { AllowPrivilegeEscalation = true }));

        var job = await cluster.WaitForJobAsync(ns, "escalates", j => Conditions.Find(j.Status?.Conditions, ConditionTypes.PodCreateFailed)?.Status == "True", "PodCreateFailed");
        var condition = Conditions.Find(job.Status!.Conditions, ConditionTypes.PodCreateFailed)!;
        Assert.Equal("Forbidden", condition.Reason);
        Assert.Contains("violates PodSecurity \"restricted:latest\"", condition.Message, StringComparison.Ordinal);
        Assert.Contains("allowPrivilegeEscalation != false", condition.Message, StringComparison.Ordinal);
        Assert.Equal((JobPhases.Pending, 0), (job.Status.Phase, job.Status.Attempt));

        // The user removes the override: the default passes, and the job runs at once.
        await PatchAsync(ns, "escalates", """{"spec":{"securityContext":null}}""");
        await cluster.WaitForJobAsync(ns, "escalates", j => j.Status?.Phase == JobPhases.Succeeded, "Succeeded after the fix");
    }

    [Fact]
    public async Task Operator_Should_ShowTheRefusalAndRunOnceItIsCured_When_TheServiceAccountDoesNotExist()
    {
        var ns = await cluster.NewNamespaceAsync("nosa");
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-nosa");
        await cluster.CreateJobAsync(ClusterFixture.ScriptJob(ns, "lonely", "exit 0", s => s.ServiceAccountName = "trainer"));

        var job = await cluster.WaitForJobAsync(ns, "lonely", j => Conditions.Find(j.Status?.Conditions, ConditionTypes.PodCreateFailed)?.Status == "True", "PodCreateFailed");
        var condition = Conditions.Find(job.Status!.Conditions, ConditionTypes.PodCreateFailed)!;
        Assert.Contains("serviceaccount \"trainer\" not found", condition.Message, StringComparison.Ordinal);
        var warning = Assert.Single(await Eventually.GetAsync(
            async () => (await cluster.EventsAsync(ns)).Where(e => e.Reason == EventReasons.PodCreateFailed).ToList(),
            es => es.Count > 0,
            TimeSpan.FromSeconds(30),
            "the PodCreateFailed Event"));
        Assert.Contains("serviceaccount \"trainer\" not found", warning.Message, StringComparison.Ordinal);

        // The cluster admin creates the account; the spec is unchanged, so the backed-off retry picks it up.
        await cluster.Client.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = new V1ObjectMeta { Name = "trainer", NamespaceProperty = ns } }, ns);
        var done = await cluster.WaitForJobAsync(ns, "lonely", j => j.Status?.Phase == JobPhases.Succeeded, "Succeeded once the account exists", TimeSpan.FromSeconds(90));
        Assert.Equal("False", Conditions.Find(done.Status!.Conditions, ConditionTypes.PodCreateFailed)?.Status);
    }

    private async Task<string> RestrictedNamespaceAsync(string prefix)
    {
        var ns = await cluster.NewNamespaceAsync(prefix);
        await cluster.Client.CoreV1.PatchNamespaceAsync(
            new V1Patch("""{"metadata":{"labels":{"pod-security.kubernetes.io/enforce":"restricted"}}}""", V1Patch.PatchType.MergePatch), ns);
        return ns;
    }

    private Task PatchAsync(string ns, string name, string json) =>
        cluster.Client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch(json, V1Patch.PatchType.MergePatch), TrainingJob.KubeGroup, TrainingJob.KubeVersion, ns, TrainingJob.KubePlural, name);
}
