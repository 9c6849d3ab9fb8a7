using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Pods;
using K8sTraining.Operator.Reconciliation;
using k8s;
using k8s.Models;

namespace K8sTraining.Operator.Tests.Integration;

/// <summary>
/// Issue 16's "Done when", on the local cluster with the real operator, the real published trainer, s3rver and the real
/// kubectl (apply, create, patch, get): the 3-stage curriculum example preempted in each stage ends with the bytes of an
/// uninterrupted run; a Succeeded job extended by 2 epochs resumes and finishes; a batch-size edit continues at the same
/// sample; a fine-tune from another job's best checkpoint swaps a 10-class head for a 5-class one; a learning-rate edit
/// reconfigures without a failure or a preemption; a deadline stops a job with a checkpoint in time. The data are tiny
/// (synthetic for the mlp, a few hundred Fashion-MNIST images for the curriculum) and every trainer runs on one thread.
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "Integration")]
public sealed partial class CurriculumOnTheClusterTests(ClusterFixture cluster)
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(180);

    [Fact]
    public async Task CurriculumExample_Should_SucceedWithTheBytesOfAnUninterruptedRun_When_EvictedOnceInEachStage()
    {
        var ns = await cluster.NewNamespaceWithS3CredentialsAsync("curriculum");
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-curriculum", "--progress-interval-seconds", "1");
        // The same stages twice: one job evicted once in each stage (its steps slowed so an eviction lands inside the
        // stage it aims at), one never interrupted. The delay changes no number the trainer computes.
        var (evicted, stages) = CurriculumExample(ns, "evicted", stepDelayMs: 150);
        var (whole, _) = CurriculumExample(ns, "whole", stepDelayMs: null);
        await cluster.KubectlOkWithInputAsync(KubernetesJson.Serialize(evicted), "apply", "-f", "-");
        await cluster.KubectlOkWithInputAsync(KubernetesJson.Serialize(whole), "apply", "-f", "-");

        for (var stage = 0; stage < stages.Count; stage++)
        {
            var attempt = stage + 1;
            var pod = PodNames.ForAttempt("evicted", attempt);
            // Evicted once this attempt's trainer has committed a checkpoint strictly inside the stage, read where it
            // lands first, in the pod's checkpoint volume (the store lags by an upload, and the operator's progress
            // probe backs off for 30 s after one slow scrape: on a loaded machine either can outlast the stage).
            var inStage = await Eventually.GetAsync(
                () => Task.FromResult(NewestLocalCheckpoint(ns, pod)),
                c => c is { Stage: var i, StepInEpoch: > 0 } && i == stage,
                Long,
                $"a checkpoint of attempt {attempt} inside stage {stage} '{stages[stage]}'");
            Assert.Equal("Running", (await cluster.GetJobAsync(ns, "evicted")).Status?.Phase);
            await cluster.Client.CoreV1.CreateNamespacedPodEvictionAsync(new V1Eviction { Metadata = new V1ObjectMeta { Name = pod, NamespaceProperty = ns } }, pod, ns);

            var replaced = await cluster.WaitForJobAsync(ns, "evicted", j => j.Status is { Preemptions: var p, Attempt: var a } && p == stage + 1 && a == attempt + 1, $"the replacement of {pod}", Long);
            Assert.Equal(("EvictionByEvictionAPI", 75, 0), (replaced.Status!.LastTermination?.Reason, replaced.Status.LastTermination?.ExitCode, replaced.Status.Restarts));
            // The replacement resumes inside the stage the eviction hit: the first stage it enters is that one.
            var log = await Eventually.GetAsync(
                () => Task.FromResult(ReadLog(ns, PodNames.ForAttempt("evicted", attempt + 1))),
                text => StageLine().IsMatch(text),
                Long,
                $"attempt {attempt + 1} entering its first stage");
            Assert.Equal($"Stage {stage + 1}/{stages.Count} '{stages[stage]}'", StageLine().Match(log).Value);
            Assert.Contains($"(global step {replaced.Status.ResumeFrom!.GlobalStep}) from", log, StringComparison.Ordinal);
            Assert.True(replaced.Status.ResumeFrom.GlobalStep >= inStage!.GlobalStep, $"resumed at {replaced.Status.ResumeFrom.GlobalStep}, before the checkpoint {inStage.GlobalStep} seen in the stage");
        }

        var done = await cluster.WaitForJobAsync(ns, "evicted", j => j.Status?.Phase is JobPhases.Succeeded or JobPhases.Failed, "the evicted job's end", Long);
        var reference = await cluster.WaitForJobAsync(ns, "whole", j => j.Status?.Phase is JobPhases.Succeeded or JobPhases.Failed, "the uninterrupted job's end", Long);
        Assert.Equal((JobPhases.Succeeded, 3, 0, 4), (done.Status!.Phase, done.Status.Preemptions, done.Status.Restarts, done.Status.Attempt));
        Assert.Equal((JobPhases.Succeeded, 0, 1), (reference.Status!.Phase, reference.Status.Preemptions, reference.Status.Attempt));
        Assert.Equal(("full", 2, 3), (done.Status.Stage?.Name, done.Status.Stage?.Index, done.Status.Stage?.Total));
        var steps = done.Status.Progress!.GlobalStep;
        Assert.Equal(steps, reference.Status.Progress?.GlobalStep);

        // The final checkpoint's weights (and EMA weights) and each stage's last weights: the same bytes.
        string[] files =
        [
            $"{CheckpointLayout.DirectoryName(steps)}/model.bin",
            $"{CheckpointLayout.DirectoryName(steps)}/ema.bin",
            .. stages.Select(s => $"{ArtifactLayout.RemoteFolderName}/{ArtifactLayout.StagesFolderName}/{s}/{ArtifactLayout.StageLastFolderName}/model.bin"),
        ];
        foreach (var file in files)
        {
            var ours = await File.ReadAllBytesAsync(ObjectFile($"jobs/{ns}/evicted/{file}"));
            var theirs = await File.ReadAllBytesAsync(ObjectFile($"jobs/{ns}/whole/{file}"));
            Assert.True(ours.Length > 0 && ours.AsSpan().SequenceEqual(theirs), $"{file} differs between the job evicted in each stage and the uninterrupted one");
        }

        var table = await cluster.KubectlOkAsync("get", "tj", "-n", ns);
        Assert.Contains("STAGE", table, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^evicted\s+Succeeded\s+full\s", table);
    }

    [Fact]
    public async Task Operator_Should_ResumeFromTheLastCheckpointAndFinish_When_ASucceededJobIsExtendedByTwoEpochsWithKubectl()
    {
        var ns = await cluster.NewNamespaceWithS3CredentialsAsync("more");
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-more");
        // 256 samples in batches of 32: 8 steps an epoch.
        await CreateAsync(MlpJob(ns, "extended", t => (t.Samples, t.Epochs, t.BatchSize) = (256, 2, 32)));
        var first = await cluster.WaitForJobAsync(ns, "extended", j => j.Status?.Phase is JobPhases.Succeeded or JobPhases.Failed, "the first run's end", Long);
        Assert.Equal((JobPhases.Succeeded, 16L, 16L), (first.Status!.Phase, first.Status.Progress?.GlobalStep, first.Status.ResumeFrom?.GlobalStep));

        await cluster.KubectlOkAsync("patch", "tj", "extended", "-n", ns, "--type", "merge", "-p", """{"spec":{"training":{"epochs":4}}}""");

        await cluster.WaitForJobAsync(ns, "extended", j => j.Status is { Phase: JobPhases.Running, Attempt: 2 }, "Running again, attempt 2", Long);
        var done = await cluster.WaitForJobAsync(ns, "extended", j => j.Status is { Attempt: 2, Phase: JobPhases.Succeeded or JobPhases.Failed }, "the extended run's end", Long);
        Assert.Equal((JobPhases.Succeeded, 32L, (int?)4), (done.Status!.Phase, done.Status.Progress?.GlobalStep, done.Status.CurrentAttempt?.Epochs));
        Assert.Equal((0, 0), (done.Status.Preemptions, done.Status.Restarts));
        var log = ReadLog(ns, "extended-attempt-2");
        Assert.Contains("Resuming at epoch 2, step 0 of epoch (global step 16)", log, StringComparison.Ordinal);
        Assert.Contains("Resume changes --epochs from 2 to 4 at global step 16", log, StringComparison.Ordinal);
        Assert.Contains((await cluster.EventsAsync(ns)).Where(e => e.InvolvedObject.Name == "extended"), e => e.Reason == EventReasons.Revived && e.Message.Contains("extended from 2 to 4 epochs", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Operator_Should_ContinueAtTheSameSampleAndSeeEachSampleOnce_When_TheBatchSizeOfARunningJobIsEditedWithKubectl()
    {
        var ns = await cluster.NewNamespaceWithS3CredentialsAsync("batch");
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-batch");
        var trace = Path.Combine(cluster.StateDirectory, $"{ns}-samples.txt");
        // 1024 samples in batches of 16: one epoch of 64 steps, slowed so the edit lands inside it.
        await CreateAsync(MlpJob(ns, "rebatched", t => (t.Samples, t.Epochs, t.BatchSize) = (1024, 1, 16), ("K8STRAINING_TEST_STEP_DELAY_MS", "100"), ("K8STRAINING_TEST_SAMPLE_TRACE", trace)));
        await Eventually.TrueAsync(() => File.Exists(trace) && File.ReadAllLines(trace).Length >= 4, Long, "attempt 1 training its first batches");

        await cluster.KubectlOkAsync("patch", "tj", "rebatched", "-n", ns, "--type", "merge", "-p", """{"spec":{"training":{"batchSize":24}}}""");

        var resumed = await cluster.WaitForJobAsync(ns, "rebatched", j => j.Status is { Attempt: 2, Phase: JobPhases.Running }, "attempt 2 with the new batch size", Long);
        var at = resumed.Status!.ResumeFrom!;
        Assert.Equal((AttemptOutcomes.Reconfigured, 0, 0), (resumed.Status.LastTermination?.Outcome, resumed.Status.Preemptions, resumed.Status.Restarts));
        Assert.True(at is { Epoch: 0, StepInEpoch: > 0 and < 64 }, $"the edit must land inside the epoch for this case; it stopped at epoch {at.Epoch}, step {at.StepInEpoch}");
        var env = await PodEnvironmentAsync(ns, "rebatched-attempt-2");
        Assert.Equal("24", env[TrainerEnvironment.BatchSize]);
        Assert.False(env.ContainsKey(TrainerEnvironment.Reconfigure), "a batch size is taken on resume without --reconfigure");

        var done = await cluster.WaitForJobAsync(ns, "rebatched", j => j.Status?.Phase is JobPhases.Succeeded or JobPhases.Failed, "the end", Long);
        var sample = at.GlobalStep * 16;
        Assert.Equal((JobPhases.Succeeded, at.GlobalStep + ((1024 - sample + 23) / 24)), (done.Status!.Phase, done.Status.Progress?.GlobalStep));
        Assert.Contains($"Resume changes --batch-size from 16 to 24 at global step {at.GlobalStep} (sample {sample} of epoch 0)", ReadLog(ns, "rebatched-attempt-2"), StringComparison.Ordinal);
        // Every sample of the epoch exactly once across both attempts: 16 at a time, then 24 at a time from the same sample.
        var batches = File.ReadAllLines(trace).Select(l => l.Split(':')).Where(p => p[0] == "0").Select(p => p[1].Split(',').Select(i => int.Parse(i, CultureInfo.InvariantCulture)).ToList()).ToList();
        Assert.Equal(Enumerable.Range(0, 1024), batches.SelectMany(b => b).Order());
        Assert.Equal([.. Enumerable.Repeat(16, (int)at.GlobalStep), .. Enumerable.Repeat(24, (1024 - (int)sample) / 24), .. (1024 - sample) % 24 == 0 ? Array.Empty<int>() : [(int)((1024 - sample) % 24)]], batches.Select(b => b.Count));
    }

    [Fact]
    public async Task Operator_Should_FineTuneWithAFiveClassHeadAndReportTheSkippedParameters_When_InitFromIsAnotherJobsBestCheckpoint()
    {
        var ns = await cluster.NewNamespaceWithS3CredentialsAsync("finetune");
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-finetune");
        // The source: a 10-class mlp with a validation split, so it keeps a best checkpoint.
        await CreateAsync(MlpJob(ns, "source", t => (t.Samples, t.Epochs, t.BatchSize, t.ValidationFraction) = (512, 2, 32, 0.25)));
        var source = await cluster.WaitForJobAsync(ns, "source", j => j.Status?.Phase is JobPhases.Succeeded or JobPhases.Failed, "the source's end", Long);
        Assert.Equal(JobPhases.Succeeded, source.Status!.Phase);
        var best = source.Status.Best ?? throw new InvalidOperationException("the source kept no best checkpoint");

        // The fine-tune: the same mlp on 28x28 images of 5 classes (a FER2013-style CSV: 100 training rows).
        var csv = Path.Combine(cluster.StateDirectory, $"{ns}-five-classes.csv");
        await File.WriteAllTextAsync(csv, FiveClassCsv(trainPerClass: 20, testPerClass: 4));
        var job = MlpJob(ns, "tuned", t => (t.Dataset, t.DataPath, t.Samples, t.Epochs, t.BatchSize) = (DatasetNames.CsvImages, csv, null, 1, 20));
        job.Spec.InitFrom = new InitFromSpec { TrainingJob = "source", Checkpoint = CheckpointSelectors.Best };
        await CreateAsync(job);

        var done = await cluster.WaitForJobAsync(ns, "tuned", j => j.Status?.Phase is JobPhases.Succeeded or JobPhases.Failed, "the fine-tune's end", Long);
        Assert.Equal((JobPhases.Succeeded, 5L, 0, 0), (done.Status!.Phase, done.Status.Progress?.GlobalStep, done.Status.Preemptions, done.Status.Restarts));
        var lineage = done.Status.Lineage ?? throw new InvalidOperationException("no status.lineage");
        Assert.Equal(($"s3://k8straining/jobs/{ns}/source", $"s3://k8straining/jobs/{ns}/source/{CheckpointLayout.DirectoryName(best.GlobalStep)}", (long?)best.GlobalStep), (lineage.Source, lineage.Checkpoint, lineage.GlobalStep));
        Assert.Equal(["fc2.weight", "fc2.bias"], lineage.SkippedParameters ?? []);
        Assert.Equal($"s3://k8straining/jobs/{ns}/source", (await PodEnvironmentAsync(ns, "tuned-attempt-1"))[TrainerEnvironment.InitFrom]);
        var log = ReadLog(ns, "tuned-attempt-1");
        Assert.Contains($"Initialised from s3://k8straining/jobs/{ns}/source/{CheckpointLayout.DirectoryName(best.GlobalStep)} (global step {best.GlobalStep}", log, StringComparison.Ordinal);
        Assert.Contains("fc2.weight", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Operator_Should_ReconfigureWithoutAFailureOrAPreemption_When_TheLearningRateOfARunningTrainerIsEditedWithKubectl()
    {
        var ns = await cluster.NewNamespaceWithS3CredentialsAsync("lr");
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-lr");
        var trace = Path.Combine(cluster.StateDirectory, $"{ns}-samples.txt");
        // 1024 samples in batches of 16: 64 steps, slowed so the edit lands while the trainer runs.
        await CreateAsync(MlpJob(ns, "live", t => (t.Samples, t.Epochs, t.BatchSize, t.LearningRate) = (1024, 1, 16, 0.01), ("K8STRAINING_TEST_STEP_DELAY_MS", "100"), ("K8STRAINING_TEST_SAMPLE_TRACE", trace)));
        await Eventually.TrueAsync(() => File.Exists(trace) && File.ReadAllLines(trace).Length >= 4, Long, "attempt 1 training its first batches");

        await cluster.KubectlOkAsync("patch", "tj", "live", "-n", ns, "--type", "merge", "-p", """{"spec":{"training":{"learningRate":0.02}}}""");

        var running = await cluster.WaitForJobAsync(ns, "live", j => j.Status is { Attempt: 2, Phase: JobPhases.Running }, "attempt 2 running the edited spec", Long);
        var at = running.Status!.ResumeFrom!;
        Assert.Equal((AttemptOutcomes.Reconfigured, 0, 0), (running.Status.LastTermination?.Outcome, running.Status.Preemptions, running.Status.Restarts));
        Assert.Equal((true, (long?)2), (running.Status.CurrentAttempt?.Reconfigured, running.Status.CurrentAttempt?.ObservedGeneration));
        Assert.True(at.GlobalStep is > 0 and < 64, $"the edit must land while the trainer runs; it stopped at {at.GlobalStep}");
        var env = await PodEnvironmentAsync(ns, "live-attempt-2");
        Assert.Equal(("0.02", "true"), (env[TrainerEnvironment.LearningRate], env[TrainerEnvironment.Reconfigure]));

        var done = await cluster.WaitForJobAsync(ns, "live", j => j.Status?.Phase is JobPhases.Succeeded or JobPhases.Failed, "the end", Long);
        Assert.Equal((JobPhases.Succeeded, 64L, 0, 0, 2), (done.Status!.Phase, done.Status.Progress?.GlobalStep, done.Status.Preemptions, done.Status.Restarts, done.Status.Attempt));
        Assert.Equal(("False", ConditionReasons.Reconfigured), (Conditions.Find(done.Status.Conditions, ConditionTypes.Reconfiguring)?.Status, Conditions.Find(done.Status.Conditions, ConditionTypes.Reconfiguring)?.Reason));
        Assert.Contains($"Resume changes --lr from 0.01 to 0.02 at global step {at.GlobalStep}", ReadLog(ns, "live-attempt-2"), StringComparison.Ordinal);
        var events = (await cluster.EventsAsync(ns)).Where(e => e.InvolvedObject.Name == "live").ToList();
        Assert.Contains(events, e => e.Reason == EventReasons.Reconfiguring && e.Type == "Normal");
        Assert.DoesNotContain(events, e => e.Reason is EventReasons.Preempted or EventReasons.AttemptFailed or EventReasons.Failed);
    }

    [Fact]
    public async Task Operator_Should_EndDeadlineExceededWithACommittedCheckpoint_When_TheRealTrainerReachesActiveDeadlineSeconds()
    {
        var ns = await cluster.NewNamespaceWithS3CredentialsAsync("boxed");
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-boxed");
        const int deadlineSeconds = 15;
        // Far more steps than fit: 5 epochs of 256 steps at 20 ms or more each.
        var job = MlpJob(ns, "boxed", t => (t.Samples, t.Epochs, t.BatchSize) = (4096, 5, 16), ("K8STRAINING_TEST_STEP_DELAY_MS", "20"));
        job.Spec.ActiveDeadlineSeconds = deadlineSeconds;
        job.Spec.Checkpoint!.EverySteps = 100;
        await CreateAsync(job);

        var stopped = await cluster.WaitForJobAsync(ns, "boxed", j => j.Status?.Phase is JobPhases.Failed or JobPhases.Succeeded, "the end at the deadline", Long);
        var status = stopped.Status!;
        var failed = Conditions.Find(status.Conditions, ConditionTypes.Failed);
        Assert.Equal((JobPhases.Failed, ConditionReasons.DeadlineExceeded), (status.Phase, failed?.Reason));
        Assert.Equal((AttemptOutcomes.DeadlineExceeded, TerminationReasons.DeadlineExceeded, 75), (status.LastTermination?.Outcome, status.LastTermination?.Reason, status.LastTermination?.ExitCode));
        Assert.Equal((0, 0, 1), (status.Preemptions, status.Restarts, status.Attempt));
        var resume = status.ResumeFrom ?? throw new InvalidOperationException("no resume point");
        Assert.True(resume.GlobalStep > 0, "the job trained before its deadline");
        Assert.Equal(status.Progress?.GlobalStep, resume.GlobalStep);
        Assert.Equal($"s3://k8straining/jobs/{ns}/boxed/{CheckpointLayout.DirectoryName(resume.GlobalStep)}", resume.Location);
        Assert.True(File.Exists(ObjectFile($"jobs/{ns}/boxed/{CheckpointLayout.DirectoryName(resume.GlobalStep)}/{CheckpointLayout.ManifestFileName}")), "the deadline's checkpoint is committed in the store");
        Assert.Contains($"\"globalStep\":{resume.GlobalStep}", await File.ReadAllTextAsync(ObjectFile($"jobs/{ns}/boxed/{CheckpointLayout.LatestFileName}")), StringComparison.Ordinal);

        // The trainer stopped itself in time: its own exit 75 with reason DeadlineExceeded, before the deadline it was given.
        var deadline = DateTimeOffset.Parse((await PodEnvironmentAsync(ns, "boxed-attempt-1"))[TrainerEnvironment.Deadline], CultureInfo.InvariantCulture);
        Assert.Equal(new DateTimeOffset(DateTime.SpecifyKind(status.StartTime!.Value, DateTimeKind.Utc)).AddSeconds(deadlineSeconds).ToUnixTimeSeconds(), deadline.ToUnixTimeSeconds(), 1.0);
        var ended = new DateTimeOffset(DateTime.SpecifyKind(status.LastTermination!.Time!.Value, DateTimeKind.Utc));
        Assert.True(ended <= deadline.AddSeconds(job.Spec.EffectiveGracePeriodSeconds), $"the attempt ended at {ended:O}, after the deadline {deadline:O} and its grace");
        Assert.Contains("for the deadline", ReadLog(ns, "boxed-attempt-1"), StringComparison.Ordinal);
    }

    /// <summary>
    /// examples/fashion-mnist-curriculum.yaml as a user applies it, with only the sizes made small for a test: a few
    /// hundred images, one epoch per stage, small batches, frequent checkpoints, one thread, and this test's namespace,
    /// checkpoint prefix and metrics port. Returns the job and its stage names.
    /// </summary>
    private static (TrainingJob Job, IReadOnlyList<string> Stages) CurriculumExample(string ns, string name, int? stepDelayMs)
    {
        var job = KubernetesYaml.Deserialize<TrainingJob>(File.ReadAllText(Path.Combine(RepositoryPaths.Root, "examples", "fashion-mnist-curriculum.yaml")));
        var stages = job.Spec.Stages ?? throw new InvalidOperationException("the example has no stages");
        Assert.Equal(3, stages.Count);
        job.Metadata.Name = name;
        job.Metadata.NamespaceProperty = ns;
        var t = job.Spec.Training!;
        // 50 images per class, 10% of them for validation: 450 training images; the stages see 225, 337 and 450 of them
        // in batches of 8, 12 and 12 (about 29, 29 and 38 steps).
        t.MaxSamplesPerClass = 50;
        t.BatchSize = 12;
        stages[0].BatchSize = 8;
        foreach (var stage in stages)
        {
            stage.Epochs = 1;
        }

        job.Spec.Checkpoint!.Uri = $"s3://{S3rverServer.Bucket}/jobs/{ns}/{name}";
        job.Spec.Checkpoint.EverySteps = 3;
        job.Spec.MetricsPort = OperatorProcess.FreePort();
        job.Spec.Env = [new V1EnvVar { Name = "TRAINER_THREADS", Value = "1" }, .. stepDelayMs is { } ms ? [new V1EnvVar { Name = "K8STRAINING_TEST_STEP_DELAY_MS", Value = ms.ToString(CultureInfo.InvariantCulture) }] : Array.Empty<V1EnvVar>()];
        return (job, [.. stages.Select(s => s.Name)]);
    }

    /// <summary>A tiny mlp job on synthetic data with a checkpoint store, on one thread; <paramref name="change"/> sizes it.</summary>
    private static TrainingJob MlpJob(string ns, string name, Action<TrainingSpec> change, params (string Name, string Value)[] env)
    {
        var training = new TrainingSpec { Model = ModelNames.Mlp, Dataset = DatasetNames.Synthetic, Samples = 256, Epochs = 1, BatchSize = 32, Seed = 7 };
        change(training);
        return new TrainingJob
        {
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
            Spec = new TrainingJobSpec
            {
                Training = training,
                Checkpoint = new CheckpointSpec { Uri = $"s3://{S3rverServer.Bucket}/jobs/{ns}/{name}", SecretName = "s3-credentials", EverySteps = 8, Keep = 3 },
                TerminationGracePeriodSeconds = 30,
                MetricsPort = OperatorProcess.FreePort(),
                Env = [new V1EnvVar { Name = "TRAINER_THREADS", Value = "1" }, .. env.Select(e => new V1EnvVar { Name = e.Name, Value = e.Value })],
            },
        };
    }

    /// <summary>
    /// A FER2013-style CSV of 28x28 gray images of 5 classes (each a fixed pattern plus noise): Training rows, then
    /// PublicTest rows as the test split.
    /// </summary>
    private static string FiveClassCsv(int trainPerClass, int testPerClass)
    {
        var random = new Random(5);
        var text = new StringBuilder("emotion,pixels,Usage\n");
        foreach (var (usage, count) in new[] { ("Training", trainPerClass), ("PublicTest", testPerClass) })
        {
            for (var i = 0; i < count; i++)
            {
                for (var label = 0; label < 5; label++)
                {
                    var pixels = Enumerable.Range(0, 28 * 28).Select(p => Math.Clamp((((p / 28) + (p % 28 * label)) % 7 * 36) + random.Next(-20, 21), 0, 255));
                    text.Append(label.ToString(CultureInfo.InvariantCulture)).Append(',').AppendJoin(' ', pixels).Append(',').Append(usage).Append('\n');
                }
            }
        }

        return text.ToString();
    }

    private Task CreateAsync(TrainingJob job) => cluster.KubectlOkWithInputAsync(KubernetesJson.Serialize(job), "create", "-f", "-");

    private async Task<Dictionary<string, string>> PodEnvironmentAsync(string ns, string pod) =>
        (await cluster.Client.CoreV1.ReadNamespacedPodAsync(pod, ns)).Spec.Containers.Single(c => c.Name == WellKnown.TrainerContainer).Env
            .Where(e => e.Value is not null).ToDictionary(e => e.Name, e => e.Value);

    private string ReadLog(string ns, string pod)
    {
        try
        {
            using var stream = new FileStream(cluster.TrainerLogPath(ns, pod), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
        catch (InvalidOperationException)
        {
            // Not started yet (no log file).
            return "";
        }
    }

    /// <summary>
    /// The newest checkpoint the trainer of <paramref name="pod"/> committed in its checkpoint volume (a step-N directory
    /// is complete once it has that name); null while there is none.
    /// </summary>
    private CommittedCheckpoint? NewestLocalCheckpoint(string ns, string pod)
    {
        try
        {
            var nodes = Path.Combine(cluster.StateDirectory, "nodes");
            var volume = Directory.Exists(nodes)
                ? Directory.EnumerateDirectories(nodes).Select(n => Path.Combine(n, "pods")).Where(Directory.Exists)
                    .SelectMany(p => Directory.EnumerateDirectories(p, $"{ns}_{pod}_*")).Select(d => Path.Combine(d, "volumes", "kubernetes.io~empty-dir", TrainerPodBuilder.CheckpointVolume)).FirstOrDefault(Directory.Exists)
                : null;
            if (volume is null)
            {
                return null;
            }

            var steps = Directory.EnumerateDirectories(volume, CheckpointLayout.DirectorySearchPattern)
                .Select(d => CheckpointLayout.TryParseDirectoryName(Path.GetFileName(d), out var step) ? step : -1).Where(step => step >= 0).ToList();
            if (steps.Count == 0)
            {
                return null;
            }

            var newest = steps.Max();
            using var state = JsonDocument.Parse(File.ReadAllText(Path.Combine(volume, CheckpointLayout.DirectoryName(newest), "state.json")));
            return new CommittedCheckpoint(newest, state.RootElement.GetProperty("stage").GetInt32(), state.RootElement.GetProperty("stepInEpoch").GetInt32());
        }
        catch (Exception e) when (e is IOException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            // Being written, or removed by retention: look again.
            return null;
        }
    }

    private sealed record CommittedCheckpoint(long GlobalStep, int Stage, int StepInEpoch);

    /// <summary>The file in which s3rver keeps the object <paramref name="key"/> of the bucket.</summary>
    private string ObjectFile(string key) => Path.Combine(cluster.S3DataDirectory, S3rverServer.Bucket, key + "._S3rver_object");

    [GeneratedRegex(@"Stage \d+/\d+ '[^']+'")]
    private static partial Regex StageLine();
}
