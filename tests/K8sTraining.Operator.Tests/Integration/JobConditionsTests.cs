using K8sTraining.Operator.Api;
using K8sTraining.Operator.Reconciliation;
using k8s;
using k8s.Models;

namespace K8sTraining.Operator.Tests.Integration;

/// <summary>
/// What the job says about itself, with the real operator on the local cluster: suspends are not preemptions, a pod
/// that cannot start says why, a training edit is refused at once, storage outages are retried, and a checkpoint
/// prefix owned by another job stops the job until the user decides.
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "Integration")]
public sealed class JobConditionsTests(ClusterFixture cluster)
{
    /// <summary>A "trainer" that checkpoints slowly on SIGTERM (1 s) and exits 75, as the real one does.</summary>
    private const string CheckpointsOnTerm = """trap 'sleep 1; echo "{\"status\":\"preempted\",\"globalStep\":5,\"epoch\":0,\"stepInEpoch\":5,\"checkpoint\":null,\"message\":\"\"}" > "$TRAINER_TERMINATION_LOG"; exit 75' TERM; while true; do sleep 0.2; done""";

    [Fact]
    public async Task Operator_Should_CountNoPreemption_When_TheJobIsSuspendedAndResumedQuicklyFiveTimes()
    {
        var ns = await cluster.NewNamespaceAsync("suspend");
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-suspend");
        await cluster.CreateJobAsync(ClusterFixture.ScriptJob(ns, "cycles", CheckpointsOnTerm, s => s.TerminationGracePeriodSeconds = 10));

        for (var attempt = 1; attempt <= 5; attempt++)
        {
            var n = attempt;
            await cluster.WaitForJobAsync(ns, "cycles", j => j.Status is { Phase: JobPhases.Running } s && s.Attempt == n, $"attempt {n} running", TimeSpan.FromSeconds(60));
            await PatchAsync(ns, "cycles", """{"spec":{"suspend":true}}""");
            await cluster.WaitForJobAsync(ns, "cycles", j => j.Status?.Phase == JobPhases.Suspended, $"suspended (cycle {n})");

            // Resumed at once, while the trainer is still checkpointing.
            await PatchAsync(ns, "cycles", """{"spec":{"suspend":false}}""");
        }

        var job = await cluster.WaitForJobAsync(ns, "cycles", j => j.Status is { Phase: JobPhases.Running, Attempt: 6 }, "attempt 6 running", TimeSpan.FromSeconds(60));
        Assert.Equal(0, job.Status!.Preemptions);
        Assert.Equal(0, job.Status.Restarts);
        Assert.Equal(AttemptOutcomes.Suspended, job.Status.LastTermination?.Outcome);
        var events = await Eventually.GetAsync(
            async () => (await cluster.EventsAsync(ns)).Where(e => e.InvolvedObject.Name == "cycles").ToList(),
            es => es.Count(e => e.Reason == EventReasons.AttemptRunning) == 6,
            TimeSpan.FromSeconds(30),
            "the Event of attempt 6 running");
        Assert.DoesNotContain(events, e => e.Reason == EventReasons.Preempted);
        Assert.Equal(5, events.Count(e => e.Reason == EventReasons.Suspended));
    }

    [Fact]
    public async Task Operator_Should_ShowWhyThePodCannotStartInOneEvent_When_TheCheckpointSecretIsMissing()
    {
        var ns = await cluster.NewNamespaceAsync("nosecret");
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-nosecret");
        await cluster.CreateJobAsync(ClusterFixture.ScriptJob(ns, "stuck", "exit 0", s => s.Checkpoint = new CheckpointSpec { Uri = "s3://k8straining/jobs/stuck", SecretName = "s3-credentials" }));

        var job = await cluster.WaitForJobAsync(ns, "stuck", j => Conditions.Find(j.Status?.Conditions, ConditionTypes.Running)?.Reason == "CreateContainerConfigError", "the Running condition to say why");
        var running = Conditions.Find(job.Status!.Conditions, ConditionTypes.Running)!;
        Assert.Equal("False", running.Status);
        Assert.EndsWith("secret \"s3-credentials\" not found", running.Message, StringComparison.Ordinal);
        Assert.Equal(JobPhases.Pending, job.Status.Phase);

        // The node agent keeps retrying (and the operator keeps reconciling): still one Event.
        var events = await Eventually.GetAsync(
            async () => (await cluster.EventsAsync(ns)).Where(e => e.InvolvedObject.Name == "stuck" && e.Reason == EventReasons.PodNotStarting).ToList(),
            es => es.Count >= 1,
            TimeSpan.FromSeconds(30),
            "the PodNotStarting Event");
        await Task.Delay(TimeSpan.FromSeconds(5)); // Let retries happen: the claim is that they add no Event.
        events = (await cluster.EventsAsync(ns)).Where(e => e.InvolvedObject.Name == "stuck" && e.Reason == EventReasons.PodNotStarting).ToList();
        var only = Assert.Single(events);
        Assert.Equal("Warning", only.Type);
        Assert.Contains("secret \"s3-credentials\" not found", only.Message, StringComparison.Ordinal);

        // The Secret appears: the pod starts and the job goes on.
        await cluster.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = "s3-credentials", NamespaceProperty = ns }, StringData = new Dictionary<string, string> { ["AWS_ACCESS_KEY_ID"] = "x" } }, ns);
        await cluster.WaitForJobAsync(ns, "stuck", j => j.Status?.Phase == JobPhases.Succeeded, "Succeeded once the Secret exists");
    }

    [Fact]
    public async Task Operator_Should_RefuseATrainingEditAtOnceAndAcceptTheRevert_When_TheJobHasCheckpoints()
    {
        var ns = await cluster.NewNamespaceAsync("edit");
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-edit");
        // It checkpoints to the remote store on SIGTERM, as the real trainer does.
        var script = CheckpointsOnTerm.Replace("""\"checkpoint\":null""", """\"checkpoint\":\"s3://k8straining/jobs/edited/step-000000000005\",\"checkpointUploaded\":true""", StringComparison.Ordinal);
        Assert.Contains("step-000000000005", script, StringComparison.Ordinal);
        await cluster.CreateJobAsync(ClusterFixture.ScriptJob(ns, "edited", script, s =>
        {
            s.Checkpoint = new CheckpointSpec { Uri = "s3://k8straining/jobs/edited" };
            s.Training!.Seed = 11;
        }));
        await cluster.WaitForJobAsync(ns, "edited", j => j.Status?.Phase == JobPhases.Running, "Running");

        // The seed is refused on resume (a learning rate would be a live reconfiguration: ReconfigurationTests).
        await PatchAsync(ns, "edited", """{"spec":{"training":{"seed":12}}}""");

        var refused = await cluster.WaitForJobAsync(ns, "edited", j => Conditions.Find(j.Status?.Conditions, ConditionTypes.SpecValid)?.Status == "False", "SpecValid False");
        var specValid = Conditions.Find(refused.Status!.Conditions, ConditionTypes.SpecValid)!;
        Assert.Equal(ConditionReasons.TrainingChangedWithCheckpoints, specValid.Reason);
        Assert.StartsWith("spec.training.seed changed from 11 to 12", specValid.Message, StringComparison.Ordinal);
        Assert.Equal(JobPhases.Running, refused.Status.Phase);
        Assert.Equal("edited-attempt-1", refused.Status.ActivePod);
        var warning = Assert.Single(await Eventually.GetAsync(
            async () => (await cluster.EventsAsync(ns)).Where(e => e.Reason == EventReasons.TrainingChangedWithCheckpoints).ToList(),
            es => es.Count > 0,
            TimeSpan.FromSeconds(30),
            "the TrainingChangedWithCheckpoints Event"));
        Assert.Contains("spec.training.seed", warning.Message, StringComparison.Ordinal);

        // Preempted now: no replacement from the edited spec.
        await cluster.Client.CoreV1.CreateNamespacedPodEvictionAsync(new V1Eviction { Metadata = new V1ObjectMeta { Name = "edited-attempt-1", NamespaceProperty = ns } }, "edited-attempt-1", ns);
        var preempted = await cluster.WaitForJobAsync(ns, "edited", j => j.Status?.Preemptions == 1, "the preemption recorded", TimeSpan.FromSeconds(30));
        Assert.Equal(5, preempted.Status!.ResumeFrom?.GlobalStep);
        Assert.Equal(1, preempted.Status.Attempt);
        Assert.DoesNotContain(await cluster.PodsAsync(ns), p => p.Metadata.Name == "edited-attempt-2");
        Assert.Equal(ConditionReasons.TrainingChangedWithCheckpoints, Conditions.Find(preempted.Status.Conditions, ConditionTypes.Running)?.Reason);

        // The revert clears the condition, and the replacement starts.
        await PatchAsync(ns, "edited", """{"spec":{"training":{"seed":11}}}""");
        var reverted = await cluster.WaitForJobAsync(ns, "edited", j => j.Status is { Phase: JobPhases.Running, Attempt: 2 }, "attempt 2 after the revert", TimeSpan.FromSeconds(30));
        Assert.Equal("True", Conditions.Find(reverted.Status!.Conditions, ConditionTypes.SpecValid)?.Status);
    }

    [Fact]
    public async Task Operator_Should_RetryWithoutSpendingMaxRestarts_When_TheTrainerCannotReachStorage()
    {
        var ns = await cluster.NewNamespaceAsync("storage");
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-storage");
        const string script = """
            if [ "$TRAINER_ATTEMPT" -le 3 ]; then
              echo '{"status":"failed","globalStep":0,"epoch":0,"stepInEpoch":0,"checkpoint":null,"message":"could not reach the checkpoint store: Connection refused","reason":"StorageUnavailable"}' > "$TRAINER_TERMINATION_LOG"; exit 69
            fi
            echo '{"status":"completed","globalStep":20,"epoch":1,"stepInEpoch":0,"checkpoint":null,"message":""}' > "$TRAINER_TERMINATION_LOG"; exit 0
            """;
        await cluster.CreateJobAsync(ClusterFixture.ScriptJob(ns, "outage", script, s => { s.MaxRestarts = 0; s.RestartBackoffSeconds = 1; }));

        var unreachable = await cluster.WaitForJobAsync(ns, "outage", j => Conditions.Find(j.Status?.Conditions, ConditionTypes.StorageAvailable)?.Status == "False", "StorageAvailable False");
        Assert.Equal(ConditionReasons.StorageUnreachable, Conditions.Find(unreachable.Status!.Conditions, ConditionTypes.StorageAvailable)?.Reason);

        var done = await cluster.WaitForJobAsync(ns, "outage", j => j.Status?.Phase == JobPhases.Succeeded, "Succeeded after the outage", TimeSpan.FromSeconds(60));
        Assert.Equal(4, done.Status!.Attempt);
        Assert.Equal(0, done.Status.Restarts);
        Assert.Equal(0, done.Status.StorageRetries);
        Assert.Equal(("True", ConditionReasons.StorageReachable), (Conditions.Find(done.Status.Conditions, ConditionTypes.StorageAvailable)?.Status, Conditions.Find(done.Status.Conditions, ConditionTypes.StorageAvailable)?.Reason));
        await Eventually.GetAsync(async () => (await cluster.EventsAsync(ns)).Count(e => e.Reason == EventReasons.StorageUnavailable), n => n == 3, TimeSpan.FromSeconds(30), "three StorageUnavailable Events");
    }

    [Fact]
    public async Task Operator_Should_StopWithCheckpointPrefixInUseAndRunAgain_When_TheUserSetsAdopt()
    {
        var ns = await cluster.NewNamespaceAsync("prefix");
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-prefix");
        const string script = """
            if [ "$TRAINER_CHECKPOINT_ADOPT" != "true" ]; then
              echo "{\"status\":\"invalid\",\"globalStep\":0,\"epoch\":0,\"stepInEpoch\":0,\"checkpoint\":null,\"message\":\"checkpoint prefix s3://k8straining/jobs/old belongs to job other/old (uid 42), not $TRAINER_JOB_UID: use a fresh spec.checkpoint.uri, or set spec.checkpoint.adopt: true\",\"reason\":\"CheckpointPrefixInUse\"}" > "$TRAINER_TERMINATION_LOG"; exit 2
            fi
            echo '{"status":"completed","globalStep":20,"epoch":1,"stepInEpoch":0,"checkpoint":null,"message":""}' > "$TRAINER_TERMINATION_LOG"; exit 0
            """;
        var created = await cluster.CreateJobAsync(ClusterFixture.ScriptJob(ns, "newcomer", script, s => s.Checkpoint = new CheckpointSpec { Uri = "s3://k8straining/jobs/old" }));

        var failed = await cluster.WaitForJobAsync(ns, "newcomer", j => j.Status?.Phase == JobPhases.Failed, "Failed");
        var inUse = Conditions.Find(failed.Status!.Conditions, ConditionTypes.CheckpointPrefixInUse)!;
        Assert.Equal(("True", ConditionReasons.CheckpointPrefixInUse), (inUse.Status, inUse.Reason));
        Assert.Contains($"not {created.Metadata.Uid}", inUse.Message, StringComparison.Ordinal);
        Assert.Equal(ConditionReasons.CheckpointPrefixInUse, Conditions.Find(failed.Status.Conditions, ConditionTypes.Failed)?.Reason);
        // Events follow the status write that records the end.
        var warnings = await Eventually.GetAsync(
            async () => (await cluster.EventsAsync(ns)).Where(e => e.InvolvedObject.Name == "newcomer" && e.Type == "Warning").ToList(),
            es => es.Count > 0,
            TimeSpan.FromSeconds(30),
            "the CheckpointPrefixInUse Event");
        var warning = Assert.Single(warnings);
        Assert.Equal(EventReasons.CheckpointPrefixInUse, warning.Reason);
        Assert.Contains("spec.checkpoint.adopt: true", warning.Message, StringComparison.Ordinal);

        await PatchAsync(ns, "newcomer", """{"spec":{"checkpoint":{"adopt":true}}}""");

        var done = await cluster.WaitForJobAsync(ns, "newcomer", j => j.Status?.Phase == JobPhases.Succeeded, "Succeeded after adopt");
        Assert.Equal(2, done.Status!.Attempt);
        Assert.Equal("False", Conditions.Find(done.Status.Conditions, ConditionTypes.CheckpointPrefixInUse)?.Status);
    }

    [Fact]
    public async Task Operator_Should_ShowTheRefusalOnceAndRetryAtOnceAfterASpecChange_When_TheApiServerRefusesThePod()
    {
        var ns = await cluster.NewNamespaceAsync("refused");
        const string why = "violates PodSecurity \"restricted:latest\": runAsNonRoot != true (pod or container \"trainer\" must set securityContext.runAsNonRoot=true)";
        var refuse = true;
        await using var proxy = new RefusingApiProxy(cluster.Plane.BaseUri, r =>
            refuse && r.HttpMethod == "POST" && r.Url!.AbsolutePath == $"/api/v1/namespaces/{ns}/pods"
                ? (403, System.Text.Json.JsonSerializer.Serialize(new { kind = "Status", apiVersion = "v1", status = "Failure", message = $"pods \"refused-attempt-1\" is forbidden: {why}", reason = "Forbidden", code = 403 }))
                : null);
        var kubeconfig = Path.Combine(Path.GetTempPath(), $"kubeconfig-refusing-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(kubeconfig, (await File.ReadAllTextAsync(cluster.Plane.KubeconfigPath)).Replace($"127.0.0.1:{cluster.Plane.BaseUri.Port}", $"127.0.0.1:{proxy.Port}", StringComparison.Ordinal));
        await using var op = OperatorProcess.Start(kubeconfig, ns, "op-refused");
        await cluster.CreateJobAsync(ClusterFixture.ScriptJob(ns, "refused", "exit 0"));

        // Refused twice (10 s apart): the condition carries the server's message; one Warning Event, not one per try.
        var job = await cluster.WaitForJobAsync(ns, "refused", j => j.Status?.PodCreateFailures >= 2, "two refused creates", TimeSpan.FromSeconds(60));
        var condition = Conditions.Find(job.Status!.Conditions, ConditionTypes.PodCreateFailed)!;
        Assert.Equal(("True", "Forbidden"), (condition.Status, condition.Reason));
        Assert.Contains(why, condition.Message, StringComparison.Ordinal);
        Assert.Equal((JobPhases.Pending, 0), (job.Status.Phase, job.Status.Attempt));
        Assert.Equal(ConditionReasons.PodCreateFailed, Conditions.Find(job.Status.Conditions, ConditionTypes.Running)?.Reason);
        var warning = Assert.Single(await Eventually.GetAsync(
            async () => (await cluster.EventsAsync(ns)).Where(e => e.Reason == EventReasons.PodCreateFailed).ToList(),
            es => es.Count > 0,
            TimeSpan.FromSeconds(30),
            "the PodCreateFailed Event"));
        Assert.Equal("Warning", warning.Type);
        Assert.Contains(why, warning.Message, StringComparison.Ordinal);
        Assert.True(proxy.Refused >= 2, $"{proxy.Refused} refusals");

        // The user fixes the spec: the next try is at once, not after the 20 s backoff.
        refuse = false;
        await PatchAsync(ns, "refused", """{"spec":{"env":[{"name":"FIXED","value":"1"}]}}""");
        var done = await cluster.WaitForJobAsync(ns, "refused", j => j.Status?.Attempt == 1, "the pod created after the spec change", TimeSpan.FromSeconds(15));
        await cluster.WaitForJobAsync(ns, "refused", j => j.Status?.Phase == JobPhases.Succeeded, "Succeeded");
        done = await cluster.GetJobAsync(ns, "refused");
        Assert.Equal(("False", ConditionReasons.PodCreated), (Conditions.Find(done.Status!.Conditions, ConditionTypes.PodCreateFailed)?.Status, Conditions.Find(done.Status.Conditions, ConditionTypes.PodCreateFailed)?.Reason));
        Assert.Equal(0, done.Status.PodCreateFailures);
    }

    private Task PatchAsync(string ns, string name, string json) =>
        cluster.Client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch(json, V1Patch.PatchType.MergePatch), TrainingJob.KubeGroup, TrainingJob.KubeVersion, ns, TrainingJob.KubePlural, name);
}
