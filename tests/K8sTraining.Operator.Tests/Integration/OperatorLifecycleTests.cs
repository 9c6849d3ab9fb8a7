using K8sTraining.Operator.Api;
using k8s;
using k8s.Models;

namespace K8sTraining.Operator.Tests.Integration;

/// <summary>The operator as a real process against the local control plane: exit codes, retries, deletion, invalid specs.</summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "Integration")]
public sealed class OperatorLifecycleTests(ClusterFixture cluster)
{
    [Fact]
    public async Task Operator_Should_FailWithoutRetry_When_TheTrainerExitsWithCode2()
    {
        var ns = await cluster.NewNamespaceAsync("exit2");
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-exit2");
        await cluster.CreateJobAsync(ClusterFixture.ScriptJob(ns, "bad-config", """echo '{"status":"invalid","globalStep":0,"epoch":0,"stepInEpoch":0,"checkpoint":null,"checkpointUploaded":true,"testAccuracy":null,"message":"--epochs: 0 is not allowed"}' > "$TRAINER_TERMINATION_LOG"; exit 2"""));

        var job = await cluster.WaitForJobAsync(ns, "bad-config", j => j.Status?.Phase == JobPhases.Failed, "Failed");

        Assert.Equal(1, job.Status!.Attempt);
        Assert.Equal(0, job.Status.Restarts);
        Assert.Equal(AttemptOutcomes.ConfigurationError, job.Status.LastTermination?.Outcome);
        Assert.Equal(2, job.Status.LastTermination?.ExitCode);
        var failed = job.Status.Conditions!.Single(c => c.Type == ConditionTypes.Failed);
        Assert.Equal(ConditionReasons.ConfigurationError, failed.Reason);
        Assert.Contains("--epochs: 0 is not allowed", failed.Message, StringComparison.Ordinal);
        // The finalizer goes right after the status that records the end: eventually, never before.
        var pods = await Eventually.GetAsync(() => cluster.PodsAsync(ns), ps => ps.All(p => p.Metadata.Finalizers is null || !p.Metadata.Finalizers.Contains(WellKnown.TrackingFinalizer)), "the tracking finalizer to be released");
        Assert.Equal(["bad-config-attempt-1"], pods.Select(p => p.Metadata.Name));
        var events = await cluster.EventsAsync(ns);
        Assert.Contains(events, e => e.Reason == EventReasons.Failed && e.Type == "Warning" && e.InvolvedObject.Name == "bad-config");
    }

    [Fact]
    public async Task Operator_Should_FailAfterMaxRestartsWithGrowingBackoff_When_TheTrainerKeepsCrashing()
    {
        var ns = await cluster.NewNamespaceAsync("crash");
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-crash");
        await cluster.CreateJobAsync(ClusterFixture.ScriptJob(ns, "crasher", "echo boom >&2; exit 1", s => { s.MaxRestarts = 2; s.RestartBackoffSeconds = 1; }));

        var job = await cluster.WaitForJobAsync(ns, "crasher", j => j.Status?.Phase == JobPhases.Failed, "Failed", TimeSpan.FromSeconds(90));

        Assert.Equal(3, job.Status!.Attempt);
        Assert.Equal(2, job.Status.Restarts);
        Assert.Equal(0, job.Status.Preemptions);
        Assert.Equal(ConditionReasons.MaxRestartsExceeded, job.Status.Conditions!.Single(c => c.Type == ConditionTypes.Failed).Reason);
        var events = (await cluster.EventsAsync(ns)).Where(e => e.InvolvedObject.Name == "crasher").ToList();
        var created = events.Where(e => e.Reason == EventReasons.AttemptCreated).OrderBy(e => e.FirstTimestamp).Select(e => e.FirstTimestamp!.Value).ToList();
        Assert.Equal(3, created.Count);
        Assert.Equal(2, events.Count(e => e.Reason == EventReasons.AttemptFailed));

        // Backoff 1 s then 2 s (event times have second precision).
        Assert.True(created[1] - created[0] >= TimeSpan.FromSeconds(1), $"first retry after {created[1] - created[0]}");
        Assert.True(created[2] - created[1] >= TimeSpan.FromSeconds(2), $"second retry after {created[2] - created[1]}");
    }

    [Fact]
    public async Task Operator_Should_LetThePodsGo_When_TheTrainingJobIsDeleted()
    {
        var ns = await cluster.NewNamespaceAsync("delete");
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-delete");
        await cluster.CreateJobAsync(ClusterFixture.ScriptJob(ns, "doomed", "trap 'exit 75' TERM; while true; do sleep 0.1; done"));
        await cluster.WaitForJobAsync(ns, "doomed", j => j.Status?.Phase == JobPhases.Running, "Running");

        await cluster.Client.CustomObjects.DeleteNamespacedCustomObjectAsync(TrainingJob.KubeGroup, TrainingJob.KubeVersion, ns, TrainingJob.KubePlural, "doomed");

        await Eventually.GetAsync(() => cluster.PodsAsync(ns), pods => pods.Count == 0, "the job's pods to be gone");
    }

    [Fact]
    public async Task Operator_Should_ReportTheProblemWithoutCrashing_When_TheSpecIsInvalid()
    {
        var ns = await cluster.NewNamespaceAsync("invalid");
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-invalid");
        var job = ClusterFixture.ScriptJob(ns, "no-data", "exit 0", s => s.Training!.Dataset = "fashion-mnist");
        await cluster.CreateJobAsync(job);

        var invalid = await cluster.WaitForJobAsync(ns, "no-data", j => j.Status?.Conditions?.Any(c => c.Type == ConditionTypes.SpecValid && c.Status == "False") == true, "SpecValid=False");

        var condition = invalid.Status!.Conditions!.Single(c => c.Type == ConditionTypes.SpecValid);
        Assert.Equal(ConditionReasons.InvalidSpec, condition.Reason);
        Assert.Contains("spec.training.dataPath", condition.Message, StringComparison.Ordinal);
        Assert.Equal(0, invalid.Status.Attempt);
        await Eventually.GetAsync(() => cluster.EventsAsync(ns), e => e.Any(x => x.Reason == EventReasons.InvalidSpec && x.Type == "Warning"), "an InvalidSpec event");
        Assert.Empty(await cluster.PodsAsync(ns));
        Assert.False(op.HasExited);
        Assert.Equal(System.Net.HttpStatusCode.OK, await op.GetStatusAsync("/healthz"));

        // Fixing the spec lets the job run.
        var patch = new V1Patch("""{"spec":{"training":{"dataPath":"/tmp"}}}""", V1Patch.PatchType.MergePatch);
        await cluster.Client.CustomObjects.PatchNamespacedCustomObjectAsync(patch, TrainingJob.KubeGroup, TrainingJob.KubeVersion, ns, TrainingJob.KubePlural, "no-data");
        var fixedJob = await cluster.WaitForJobAsync(ns, "no-data", j => j.Status?.Phase == JobPhases.Succeeded, "Succeeded after the fix");
        Assert.Equal("True", fixedJob.Status!.Conditions!.Single(c => c.Type == ConditionTypes.SpecValid).Status);
    }
}
