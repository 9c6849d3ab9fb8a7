using System.Diagnostics;
using System.Globalization;
using K8sTraining.Chaos.Cluster;
using K8sTraining.Chaos.Runner;
using K8sTraining.Chaos.Storage;
using K8sTraining.ClusterSupport;
using K8sTraining.Contract;
using K8sTraining.LocalCluster.Controllers.Nodes;
using K8sTraining.LocalCluster.Hosting;
using K8sTraining.NodeAgent.Lifecycle;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Reconciliation;
using k8s;
using k8s.Models;

namespace K8sTraining.Chaos.Scenarios;

/// <summary>
/// §2 of issue 19, "node loss": a two-node local cluster with short node-lifecycle timings, the published operator and
/// trainer against the suite's s3rver, and one job per run whose node is lost at a random moment, in one of three ways:
/// a node that vanishes (freeze=kill; the cloud double deletes its Node and pod GC collects the pod), a frozen node that
/// comes back (freeze=kill, its Node kept; it returns after a while and finalizes the evicted pod), and a partition
/// (freeze=keep: the trainer lives on as a zombie until the partition heals), under the Wait or the Replace policy.
/// Invariants: the replacement resumes from the checkpoint latest.json named at the loss (or a newer one), the steps
/// lost are at most the interval (plus the one checkpoint that may still be uploading), no zombie commit is ever
/// visible in S3, every latest.json names a verifying checkpoint, never two live trainers (Replace: never two not
/// being deleted), the job Succeeds with one preemption and no restart, and its final weights are byte-identical to an
/// uninterrupted run's.
/// </summary>
public sealed class NodeLossScenario : IChaosScenario
{
    private const double Share = 0.09;
    private const int Interval = 20;
    private const string S3SecretName = "s3-credentials";
    private const int BatchSize = 32;
    private const int Samples = 4096;
    private const long PolicySeconds = 1;
    private static readonly TimeSpan NodeMonitorGrace = TimeSpan.FromSeconds(4);
    private static readonly TimeSpan JobDeadline = TimeSpan.FromSeconds(150);

    private static readonly string[] Kinds = ["vanished", "frozen", "partition", "rebooted"];

    public string Name => "node loss";

    public async Task<ScenarioResult> RunAsync(ChaosContext context, CancellationToken cancellationToken)
    {
        var result = new ScenarioResult(Name);
        var until = context.SliceDeadline(Share);
        var slice = until - DateTime.UtcNow;
        // The full profile trains long enough (about 20 s) that a zombie behind a partition still trains when its
        // replacement commits, and meets the fence.
        var epochs = context.IsSubset ? 2 : 5;
        await using var s3 = await ChaosS3.StartAsync(context.NewDirectory("s3-node-loss"), cancellationToken);
        byte[]? reference = null;
        var kinds = new Dictionary<string, int>(StringComparer.Ordinal);
        var inFlight = 0;
        var backlog = 0;
        var fenced = 0;
        var rss = new List<(double Before, double After)>();
        // The subset: one loss of a seeded kind. The full profile: every kind in turn (KindOrder), the policy alternating
        // from a seeded first one, so the runs that fit the slice are all different losses.
        IReadOnlyList<string> order = context.IsSubset ? [context.Pick(Kinds)] : KindOrder(context.Random);
        var replaceFirst = context.Chance(0.5);
        // At least one run; then more while a whole run (about 40 s on an idle machine) still fits the slice.
        do
        {
            cancellationToken.ThrowIfCancellationRequested();
            var kind = order[result.Runs % order.Count];
            var policy = (result.Runs % 2 == 0) == replaceFirst ? NodeLossPolicies.Replace : NodeLossPolicies.Wait;
            var run = new Run(context, result, s3, kind, policy, epochs, result.Runs + 1);
            var outcome = await run.ExecuteAsync(reference, cancellationToken);
            reference ??= outcome.Reference;
            kinds[$"{kind}/{policy}"] = kinds.GetValueOrDefault($"{kind}/{policy}") + 1;
            inFlight += outcome.LostTheUploadInFlight ? 1 : 0;
            backlog += outcome.LostToAStorageBacklog ? 1 : 0;
            fenced += outcome.ZombieFenced ? 1 : 0;
            if ((run.RssBefore, run.RssAfter) is ({ } before, { } after))
            {
                rss.Add((before, after));
            }
            if (context.IsSubset || result.Violations.Count > 0)
            {
                break;
            }
        }
        while (DateTime.UtcNow + TimeSpan.FromSeconds(40) < until);

        if (rss.Count > 0)
        {
            // Each run has its own operator: the mean of its RSS when the node is lost and when the job has ended.
            result.RssMiB = (rss.Average(r => r.Before), rss.Average(r => r.After));
        }

        result.Notes.Add(string.Create(CultureInfo.InvariantCulture, $"{result.Runs} run(s) of one loss each in its {slice.TotalSeconds:0} s slice ({epochs} epochs a job)"));
        result.Notes.Add("losses by kind/policy: " + string.Join(", ", kinds.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Key} {k.Value}")));
        result.Notes.Add($"{fenced} zombie(s) behind a partition refused by the fence (exit {TrainerExitCodes.Superseded}, superseded)");
        result.Notes.Add($"{inFlight} loss(es) cost the interval plus the steps trained while checkpoints were uploading; {backlog} of them more than one checkpoint, the uploads behind (the trainer's log shows them queued, not committed)");
        return result;
    }

    /// <summary>
    /// The full profile's order of losses: a partition with its zombie trainer first (the loss the fence exists for, so
    /// even a slice that fits two runs has it), then the other kinds in a seeded order.
    /// </summary>
    public static IReadOnlyList<string> KindOrder(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        return ["partition", .. Kinds.Where(k => k != "partition").OrderBy(_ => random.Next())];
    }

    private sealed record RunOutcome(byte[]? Reference, bool LostTheUploadInFlight, bool LostToAStorageBacklog = false, bool ZombieFenced = false);

    /// <summary>One fresh two-node cluster, one operator, one job, one node lost.</summary>
    private sealed class Run(ChaosContext context, ScenarioResult result, ChaosS3 s3, string kind, string policy, int epochs, int number)
    {
        private const string JobName = "mnist";
        private string ns = "";
        private LocalTestCluster cluster = null!;
        private OperatorProcess op = null!;

        /// <summary>The operator's RSS in MiB when the node is lost, and once the job has ended.</summary>
        public double? RssBefore { get; private set; }

        public double? RssAfter { get; private set; }

        private long TotalSteps => (long)Samples / BatchSize * epochs;

        public async Task<RunOutcome> ExecuteAsync(byte[]? reference, CancellationToken cancellationToken)
        {
            var what = $"run {number} ({kind}, {policy})";
            context.Log($"node loss {what}");
            // A vanished node's Node is deleted at once (the cloud double); a frozen node's stays until it returns.
            await using var started = await LocalTestCluster.StartAsync(new LocalTestClusterOptions
            {
                Configure = o => o with
                {
                    Nodes = 2,
                    NodeLifecycle = new NodeLifecycleOptions
                    {
                        NodeMonitorPeriod = TimeSpan.FromMilliseconds(250),
                        NodeMonitorGracePeriod = NodeMonitorGrace,
                        NodeStartupGracePeriod = TimeSpan.FromSeconds(30),
                        PodGcPeriod = TimeSpan.FromMilliseconds(500),
                        PodGcOrphanQuarantine = TimeSpan.FromSeconds(1),
                        CloudNodeDeletionDelay = kind == "vanished" ? TimeSpan.Zero : TimeSpan.FromHours(1),
                    },
                    NodeLeaseDuration = TimeSpan.FromSeconds(4),
                    NodeLeaseRenewInterval = TimeSpan.FromSeconds(1),
                },
                S3Endpoint = s3.EndpointUrl,
                S3SecretKey = context.Secret,
            }, cancellationToken);
            cluster = started;
            result.Runs++;
            ns = await cluster.NewNamespaceWithS3CredentialsAsync("chaos-nl");
            await using var process = OperatorProcess.Start(cluster.KubeconfigPath, ns, $"chaos-nl-{number}", "--progress-interval-seconds", "1");
            op = process;
            try
            {
                return await StoryAsync(what, reference, cancellationToken);
            }
            finally
            {
                RssAfter = op.RssMiB();
                await ClusterEvidence.CollectAsync(context, cluster, ns, [op]);
            }
        }

        private async Task<RunOutcome> StoryAsync(string what, byte[]? reference, CancellationToken cancellationToken)
        {
            var prefix = $"jobs/{ns}/{JobName}";
            await using var latest = new LatestJsonWatch(s3, prefix);
            using var census = TrainerCensus(cluster.Client, ns, JobName, policy);
            await cluster.CreateJobAsync(Job(ns, JobName, epochs, Interval, s =>
            {
                s.NodeLossPolicy = policy;
                s.NodeLossToleranceSeconds = PolicySeconds;
                s.NodeLossReplaceAfterSeconds = PolicySeconds;
                // The zombie and its replacement share this machine's loopback: no metrics port to mistake.
                s.MetricsPort = 0;
            }));

            // The loss comes at a random step of the first attempt (before its first commit, sometimes).
            var target = context.Pick(5, (int)(TotalSteps * (context.IsSubset ? 0.6 : 0.4)));
            var first = $"{JobName}-attempt-1";
            var reachedTarget = await WaitAsync(() => TrainerPodLogs.LastStep(Log(first)) >= target, TimeSpan.FromSeconds(120), cancellationToken);
            if (!reachedTarget)
            {
                result.Violation($"{what}: attempt 1 never reached step {target}: {await DescribeAsync()}\n{Tail(Log(first))}");
                return new RunOutcome(null, false);
            }
            var pod = await cluster.Client.CoreV1.ReadNamespacedPodAsync(first, ns, cancellationToken: cancellationToken);
            var node = pod.Spec.NodeName;
            var durable = latest.Now()?.GlobalStep ?? 0;
            RssBefore = op.RssMiB();
            var lostAt = Stopwatch.GetTimestamp();
            await FreezeAsync(node, kind == "partition" ? NodeFreeze.Keep : NodeFreeze.Kill, cancellationToken);
            result.Interruptions++;
            var lostLog = Log(first);
            var reachedAtLoss = TrainerPodLogs.LastStep(lostLog);
            context.Log($"node loss {what}: froze {node} at step {reachedAtLoss} (latest.json at {durable}, target {target})");

            // A frozen node returns, and a partition heals, a random while after it was seen lost (Wait needs it). Under
            // Replace, a partition heals only after the replacement has committed, so the zombie meets the fence.
            var delayMs = context.Pick(2500, 6000);
            Func<bool> healWhen = kind == "partition" && policy == NodeLossPolicies.Replace ? () => latest.Attempts.Contains(2) : () => true;
            var returns = kind switch
            {
                "vanished" => Task.CompletedTask,
                "rebooted" => RebootAsync(node, context.Pick(300, 1500), cancellationToken),
                _ => ReturnLaterAsync(node, delayMs, healWhen, cancellationToken),
            };

            var second = $"{JobName}-attempt-2";
            long firstNewStepAt = 0;
            long? resumed = null;
            var recovered = await WaitAsync(() =>
            {
                var log = Log(second);
                resumed ??= TrainerPodLogs.ResumedAt(log) ?? (TrainerPodLogs.LastStep(log) > 0 ? 0 : null);
                if (resumed is { } r && TrainerPodLogs.LastStep(log) > r)
                {
                    firstNewStepAt = Stopwatch.GetTimestamp();
                    return true;
                }
                return false;
            }, JobDeadline, cancellationToken);
            await returns;
            if (kind != "partition")
            {
                // The trainer died with its node a moment after the freeze was asked: it reached what its log says.
                lostLog = Log(first);
                reachedAtLoss = Math.Max(reachedAtLoss, TrainerPodLogs.LastStep(lostLog));
            }
            if (!recovered)
            {
                result.Violation($"{what}: the replacement never trained a new step after the loss of {node}: {await DescribeAsync()}\n{Tail(Log(second))}");
                return new RunOutcome(null, false);
            }
            result.RecoverySeconds.Add(Stopwatch.GetElapsedTime(lostAt, firstNewStepAt).TotalSeconds);

            var outcome = new NodeLossOutcome(reachedAtLoss, durable, resumed ?? 0, Interval, TrainerPodLogs.NewestQueued(lostLog), TrainerPodLogs.NewestCommitted(lostLog));
            result.LostHard.Add(outcome.Lost);
            if (NodeLossJudgement.Check(outcome) is { } problem)
            {
                result.Violation($"{what}: {problem}");
            }

            // The reference runs beside the rest of the job, on the node that stayed (the lost one is not Ready, or gone).
            if (reference is null)
            {
                await cluster.CreateJobAsync(Job(ns, "reference", epochs, everySteps: 1000, s => s.MetricsPort = 0, slowed: false));
            }
            var done = await WaitForEndAsync(JobName, cancellationToken);
            await latest.DisposeAsync();
            census.Stop();
            if (done?.Status?.Phase != JobPhases.Succeeded)
            {
                result.Violation($"{what}: the job did not succeed within {JobDeadline.TotalSeconds:0} s: {await DescribeAsync()}");
                return new RunOutcome(null, false);
            }
            if (census.Problem is { } twice)
            {
                result.Violation($"{what}: {twice}");
            }
            if ((done.Status.Preemptions, done.Status.Restarts) != (1, 0))
            {
                result.Violation($"{what}: one node loss ended with preemptions {done.Status.Preemptions}, restarts {done.Status.Restarts} (expected 1, 0)");
            }
            if (done.Status.NodeLoss is not null || Conditions.IsTrue(done.Status.Conditions, ConditionTypes.NodeLost))
            {
                result.Violation($"{what}: the Succeeded job still reports a node loss: {done.Status.NodeLoss?.Node} {done.Status.NodeLoss?.Reason}");
            }
            if (NodeLossJudgement.CheckFencing(latest.Attempts) is { } fencing)
            {
                result.Violation($"{what}: {fencing}");
            }
            foreach (var audit in BucketAudit.Check(s3, prefix))
            {
                result.Violation($"{what}: {audit}");
            }

            if (reference is null)
            {
                var referenceDone = await WaitForEndAsync("reference", cancellationToken);
                if (referenceDone?.Status?.Phase != JobPhases.Succeeded)
                {
                    result.Violation($"{what}: the uninterrupted reference job did not succeed: {referenceDone?.Status?.Phase}");
                    return new RunOutcome(null, false);
                }
                reference = await FinalWeightsAsync("reference", cancellationToken);
            }
            var weights = await FinalWeightsAsync(JobName, cancellationToken);
            if (weights is null || reference is null || !weights.AsSpan().SequenceEqual(reference))
            {
                result.Violation($"{what}: the final weights ({weights?.Length} bytes) differ from the uninterrupted run's ({reference?.Length} bytes)");
            }
            context.Log(string.Create(CultureInfo.InvariantCulture,
                $"node loss {what}: resumed at {resumed} (reached {reachedAtLoss}, latest.json {durable}, the lost trainer queued up to {outcome.Queued} and committed up to {outcome.Uploaded}), first new step {Stopwatch.GetElapsedTime(lostAt, firstNewStepAt).TotalSeconds:0.0} s after the loss; latest.json attempts {string.Join(",", latest.Attempts)}"));
            var zombie = kind == "partition" ? TrainerPodLogs.Termination(cluster.StateDirectory, ns, first) : null;
            return new RunOutcome(reference, NodeLossJudgement.LostTheUploadInFlight(outcome), NodeLossJudgement.LostToAStorageBacklog(outcome), zombie?.Status == TerminationStatuses.Superseded);
        }

        private async Task ReturnLaterAsync(string node, int delayMs, Func<bool> when, CancellationToken cancellationToken)
        {
            // Seen lost first: NotReady, and longer than the pod's tolerance (a return before the eviction is a blip the
            // trainer never noticed, not a loss).
            await WaitAsync(async () => !await IsReadyAsync(node), TimeSpan.FromSeconds(30), cancellationToken);
            await WaitAsync(when, TimeSpan.FromSeconds(60), cancellationToken);
            await Task.Delay(delayMs, cancellationToken);
            await FreezeAsync(node, null, cancellationToken);
            context.Log($"node loss run {number}: {node} is back");
        }

        private async Task RebootAsync(string node, int delayMs, CancellationToken cancellationToken)
        {
            await Task.Delay(delayMs, cancellationToken);
            await FreezeAsync(node, null, cancellationToken);
            context.Log($"node loss run {number}: {node} rebooted within {delayMs} ms");
        }

        private async Task<bool> IsReadyAsync(string node)
        {
            var n = await cluster.Client.CoreV1.ReadNodeAsync(node);
            return n.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;
        }

        private Task FreezeAsync(string node, string? mode, CancellationToken cancellationToken)
        {
            var value = mode is null ? "null" : $"\"{mode}\"";
            var patch = new V1Patch($"{{\"metadata\":{{\"annotations\":{{\"{NodeFreeze.Annotation}\":{value}}}}}}}", V1Patch.PatchType.MergePatch);
            return cluster.Client.CoreV1.PatchNodeAsync(patch, node, cancellationToken: cancellationToken);
        }

        private string Log(string pod) => TrainerPodLogs.Read(cluster.StateDirectory, ns, pod);

        private async Task<TrainingJob?> WaitForEndAsync(string name, CancellationToken cancellationToken)
        {
            TrainingJob? job = null;
            await WaitAsync(async () =>
            {
                job = await cluster.GetJobAsync(ns, name);
                return job.Status?.Phase is JobPhases.Succeeded or JobPhases.Failed;
            }, JobDeadline, cancellationToken);
            return job;
        }

        private async Task<byte[]?> FinalWeightsAsync(string name, CancellationToken cancellationToken)
        {
            var file = s3.ObjectPath($"jobs/{ns}/{name}/{CheckpointLayout.DirectoryName(TotalSteps)}/model.bin");
            return File.Exists(file) ? await File.ReadAllBytesAsync(file, cancellationToken) : null;
        }

        private async Task<string> DescribeAsync()
        {
            try
            {
                var job = await cluster.GetJobAsync(ns, JobName);
                var pods = await cluster.PodsAsync(ns);
                return $"phase {job.Status?.Phase}, attempt {job.Status?.Attempt}, nodeLoss {job.Status?.NodeLoss?.Reason}; pods "
                    + string.Join(", ", pods.Select(p => $"{p.Metadata.Name}@{p.Spec.NodeName} {p.Status?.Phase}{(p.Metadata.DeletionTimestamp is null ? "" : " deleting")}"));
            }
            catch (k8s.Autorest.HttpOperationException e)
            {
                return e.Message;
            }
        }

        private static async Task<bool> WaitAsync(Func<bool> condition, TimeSpan timeout, CancellationToken cancellationToken) =>
            await WaitAsync(() => Task.FromResult(condition()), timeout, cancellationToken);

        private static async Task<bool> WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, CancellationToken cancellationToken)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (DateTime.UtcNow < deadline)
            {
                try
                {
                    if (await condition())
                    {
                        return true;
                    }
                }
                catch (k8s.Autorest.HttpOperationException)
                {
                    // A transient API answer: ask again.
                }
                await Task.Delay(50, cancellationToken);
            }
            return false;
        }

        private static string Tail(string text) => string.Join('\n', text.Split('\n').TakeLast(15));
    }

    /// <summary>The training job: an MLP on synthetic data, about 30 ms a step, every step logged.</summary>
    private static TrainingJob Job(string ns, string name, int epochs, int everySteps, Action<TrainingJobSpec> change, bool slowed = true)
    {
        var env = new List<V1EnvVar> { new() { Name = "TRAINER_THREADS", Value = "1" } };
        if (slowed)
        {
            env.Add(new V1EnvVar { Name = "K8STRAINING_TEST_STEP_DELAY_MS", Value = "30" });
            env.Add(new V1EnvVar { Name = TrainerEnvironment.ForFlag("--log-every-steps"), Value = "1" });
        }
        var job = new TrainingJob
        {
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
            Spec = new TrainingJobSpec
            {
                Training = new TrainingSpec { Model = "mlp", Dataset = "synthetic", Samples = Samples, Epochs = epochs, BatchSize = BatchSize, Seed = 7 },
                Checkpoint = new CheckpointSpec { Uri = $"s3://{ChaosS3.Bucket}/jobs/{ns}/{name}", SecretName = S3SecretName, EverySteps = everySteps, Keep = 3 },
                TerminationGracePeriodSeconds = 10,
                Env = env,
            },
        };
        change(job.Spec);
        return job;
    }

    /// <summary>
    /// Polls the job's pods every 50 ms: never two trainers alive at once (Wait), or never two not being deleted on Nodes
    /// that exist (Replace, which by design replaces the lost pod without waiting for it: behind a partition it may stay
    /// Terminating while its replacement runs, and a vanished Node's pod lingers until pod GC collects it; fencing covers
    /// both).
    /// </summary>
    private static PollingCheck TrainerCensus(IKubernetes client, string ns, string job, string policy) => new(TimeSpan.FromMilliseconds(50), async ct =>
    {
        var pods = (await client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: $"{WellKnown.JobNameLabel}={job}", cancellationToken: ct)).Items;
        // Nodes listed after the pods: a Node deleted in between is gone for the pods just read, too.
        var nodes = policy == NodeLossPolicies.Wait
            ? null
            : (await client.CoreV1.ListNodeAsync(cancellationToken: ct)).Items.Select(n => n.Metadata.Name).ToHashSet(StringComparer.Ordinal);
        var alive = pods.Where(p => PodClassifier.StateOf(p) is PodState.Pending or PodState.Running or PodState.Terminating)
            .Where(p => nodes is null || (p.Metadata.DeletionTimestamp is null && (string.IsNullOrEmpty(p.Spec.NodeName) || nodes.Contains(p.Spec.NodeName))))
            .Select(p => p.Metadata.Name)
            .ToList();
        return alive.Count > 1 ? $"{alive.Count} trainer pods alive at once under {policy}: {string.Join(", ", alive)}" : null;
    });
}
