using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Reconciliation;
using k8s;
using k8s.Models;

namespace K8sTraining.Operator.Tests.Integration;

/// <summary>
/// Issue 16 with the real operator and kubectl-equivalent patches on the local cluster: a live edit of the learning rate
/// reconfigures a running job (no failure, no preemption), a Succeeded job extended by 2 epochs resumes and finishes,
/// and the trainer's deadline stops a job with a checkpoint it can resume from once the deadline is raised.
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "Integration")]
public sealed class ReconfigurationTests(ClusterFixture cluster)
{
    /// <summary>
    /// A "trainer" that says which settings it runs with (its log), checkpoints to the remote store on SIGTERM and exits
    /// 75, as the real one does; with TRAINER_RECONFIGURE it accepts the changed learning rate.
    /// </summary>
    private const string Trainer = """
        echo "lr=$TRAINER_LR reconfigure=${TRAINER_RECONFIGURE:-false} epochs=$TRAINER_EPOCHS attempt=$TRAINER_ATTEMPT"
        trap 'echo "{\"status\":\"preempted\",\"globalStep\":5,\"epoch\":0,\"stepInEpoch\":5,\"checkpoint\":\"$TRAINER_CHECKPOINT_URI/step-000000000005\",\"checkpointUploaded\":true,\"message\":\"stopped by SIGTERM\"}" > "$TRAINER_TERMINATION_LOG"; exit 75' TERM
        while true; do sleep 0.2; done
        """;

    [Fact]
    public async Task Operator_Should_ReconfigureWithoutAFailureOrAPreemption_When_TheLearningRateOfARunningJobIsEdited()
    {
        var ns = await cluster.NewNamespaceAsync("live");
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-live");
        await cluster.CreateJobAsync(ClusterFixture.ScriptJob(ns, "live", Trainer, s =>
        {
            s.Checkpoint = new CheckpointSpec { Uri = "s3://k8straining/jobs/live" };
            s.Training!.LearningRate = 0.01;
        }));
        var running = await cluster.WaitForJobAsync(ns, "live", j => j.Status?.Phase == JobPhases.Running, "Running");
        Assert.Equal(1, running.Status!.CurrentAttempt?.ObservedGeneration);

        await PatchAsync(ns, "live", """{"spec":{"training":{"learningRate":0.02}}}""");

        var job = await cluster.WaitForJobAsync(ns, "live", j => j.Status is { Phase: JobPhases.Running, Attempt: 2 }, "attempt 2 running the edited spec", TimeSpan.FromSeconds(60));
        Assert.Equal((0, 0), (job.Status!.Preemptions, job.Status.Restarts));
        Assert.Equal((AttemptOutcomes.Reconfigured, (long?)1), (job.Status.LastTermination?.Outcome, job.Status.LastTermination?.ObservedGeneration));
        Assert.Equal((long?)2, job.Status.CurrentAttempt?.ObservedGeneration);
        Assert.Equal(5, job.Status.ResumeFrom?.GlobalStep);
        Assert.Equal("True", Conditions.Find(job.Status.Conditions, ConditionTypes.SpecValid)?.Status);
        Assert.Equal(("False", ConditionReasons.Reconfigured), (Conditions.Find(job.Status.Conditions, ConditionTypes.Reconfiguring)?.Status, Conditions.Find(job.Status.Conditions, ConditionTypes.Reconfiguring)?.Reason));
        var env = (await cluster.Client.CoreV1.ReadNamespacedPodAsync("live-attempt-2", ns)).Spec.Containers.Single().Env.ToDictionary(e => e.Name, e => e.Value);
        Assert.Equal(("0.02", "true"), (env[TrainerEnvironment.LearningRate], env[TrainerEnvironment.Reconfigure]));
        var events = await Eventually.GetAsync(
            async () => (await cluster.EventsAsync(ns)).Where(e => e.InvolvedObject.Name == "live").ToList(),
            es => es.Any(e => e.Reason == EventReasons.Reconfiguring) && es.Count(e => e.Reason == EventReasons.AttemptRunning) == 2,
            TimeSpan.FromSeconds(30),
            "the Reconfiguring Event and attempt 2 running");
        Assert.Equal("Normal", events.Single(e => e.Reason == EventReasons.Reconfiguring).Type);
        Assert.DoesNotContain(events, e => e.Reason is EventReasons.Preempted or EventReasons.AttemptFailed or EventReasons.Failed);
    }

    [Fact]
    public async Task Operator_Should_ResumeAndFinish_When_ASucceededJobIsExtendedByTwoEpochs()
    {
        var ns = await cluster.NewNamespaceAsync("extend");
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-extend");
        // Trains to TRAINER_EPOCHS and completes with its final checkpoint; a resume says where it started.
        const string script = """
            steps=$((TRAINER_EPOCHS * 10))
            echo "{\"status\":\"completed\",\"globalStep\":$steps,\"epoch\":$TRAINER_EPOCHS,\"stepInEpoch\":0,\"checkpoint\":\"$TRAINER_CHECKPOINT_URI/step-$(printf %012d $steps)\",\"checkpointUploaded\":true,\"message\":\"done\"}" > "$TRAINER_TERMINATION_LOG"; exit 0
            """;
        await cluster.CreateJobAsync(ClusterFixture.ScriptJob(ns, "extended", script, s =>
        {
            s.Checkpoint = new CheckpointSpec { Uri = "s3://k8straining/jobs/extended" };
            s.Training!.Epochs = 2;
        }));
        var first = await cluster.WaitForJobAsync(ns, "extended", j => j.Status?.Phase == JobPhases.Succeeded, "Succeeded after 2 epochs");
        Assert.Equal(20, first.Status!.ResumeFrom?.GlobalStep);

        await PatchAsync(ns, "extended", """{"spec":{"training":{"epochs":4}}}""");

        var done = await cluster.WaitForJobAsync(ns, "extended", j => j.Status is { Phase: JobPhases.Succeeded, Attempt: 2 }, "Succeeded again after 4 epochs", TimeSpan.FromSeconds(60));
        Assert.Equal(40, done.Status!.Progress?.GlobalStep);
        Assert.Equal((4, (long?)2), (done.Status.CurrentAttempt?.Epochs, done.Status.CurrentAttempt?.ObservedGeneration));
        Assert.Equal((0, 0), (done.Status.Preemptions, done.Status.Restarts));
        var env = (await cluster.Client.CoreV1.ReadNamespacedPodAsync("extended-attempt-2", ns)).Spec.Containers.Single().Env.ToDictionary(e => e.Name, e => e.Value);
        Assert.Equal("4", env[TrainerEnvironment.Epochs]);
        await Eventually.GetAsync(
            async () => (await cluster.EventsAsync(ns)).Where(e => e.InvolvedObject.Name == "extended" && e.Reason == EventReasons.Revived).ToList(),
            es => es.Count == 1 && es[0].Message.Contains("extended from 2 to 4 epochs", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30),
            "the Revived Event naming the extension");
    }

    [Fact]
    public async Task Operator_Should_EndDeadlineExceededWithACheckpointAndResumeWhenRaised_When_TheTrainerStopsAtItsDeadline()
    {
        var ns = await cluster.NewNamespaceAsync("deadline");
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-deadline");
        // Honours TRAINER_DEADLINE as the real trainer does: checkpoints and exits 75, reason DeadlineExceeded, 2 s before it.
        const string script = """
            [ -n "$TRAINER_DEADLINE" ] || { echo "no TRAINER_DEADLINE"; exit 1; }
            stop=$(( $(date -u -d "$TRAINER_DEADLINE" +%s) - 2 ))
            while [ "$(date -u +%s)" -lt "$stop" ]; do sleep 0.2; done
            echo "{\"status\":\"preempted\",\"globalStep\":7,\"epoch\":0,\"stepInEpoch\":7,\"checkpoint\":\"$TRAINER_CHECKPOINT_URI/step-000000000007\",\"checkpointUploaded\":true,\"message\":\"checkpointed before the deadline $TRAINER_DEADLINE\",\"reason\":\"DeadlineExceeded\"}" > "$TRAINER_TERMINATION_LOG"; exit 75
            """;
        await cluster.CreateJobAsync(ClusterFixture.ScriptJob(ns, "boxed", script, s =>
        {
            s.Checkpoint = new CheckpointSpec { Uri = "s3://k8straining/jobs/boxed" };
            s.ActiveDeadlineSeconds = 8;
        }));

        var stopped = await cluster.WaitForJobAsync(ns, "boxed", j => j.Status?.Phase == JobPhases.Failed, "Failed at the deadline", TimeSpan.FromSeconds(60));
        var failed = Conditions.Find(stopped.Status!.Conditions, ConditionTypes.Failed)!;
        Assert.Equal(ConditionReasons.DeadlineExceeded, failed.Reason);
        Assert.Equal(AttemptOutcomes.DeadlineExceeded, stopped.Status.LastTermination?.Outcome);
        Assert.Equal(7, stopped.Status.ResumeFrom?.GlobalStep);
        Assert.Equal((0, 0, 1), (stopped.Status.Preemptions, stopped.Status.Restarts, stopped.Status.Attempt));

        // Raised: the job resumes from its checkpoint.
        await PatchAsync(ns, "boxed", """{"spec":{"activeDeadlineSeconds":3600}}""");
        var resumed = await cluster.WaitForJobAsync(ns, "boxed", j => j.Status is { Phase: JobPhases.Running, Attempt: 2 }, "attempt 2 running after the raise", TimeSpan.FromSeconds(60));
        Assert.Equal(7, resumed.Status!.ResumeFrom?.GlobalStep);
        Assert.Equal("False", Conditions.Find(resumed.Status.Conditions, ConditionTypes.Failed)?.Status);
    }

    private Task PatchAsync(string ns, string name, string json) =>
        cluster.Client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch(json, V1Patch.PatchType.MergePatch), TrainingJob.KubeGroup, TrainingJob.KubeVersion, ns, TrainingJob.KubePlural, name);
}
