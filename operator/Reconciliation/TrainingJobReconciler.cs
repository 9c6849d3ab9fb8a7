using System.Diagnostics;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Pods;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>
/// The thin shell around <see cref="TrainingJobDecider"/>: read the cached job and its pods, ask for a decision, apply
/// it. Order matters for crash safety: a new pod is created before the status naming it is written (a crash in
/// between leaves a pod the next reconcile adopts); an ended pod's finalizer is removed only after the status
/// recording its end is written (a crash in between repeats a harmless release).
/// </summary>
/// <param name="cluster">Reads from the caches and writes to the API server: the shell's only way out.</param>
/// <param name="observer">Told what each reconcile decided and did (the metrics).</param>
/// <param name="progress">Asks running trainers where they are; null when the operator does not ask.</param>
/// <param name="podSettings">The operator's settings for the pods it builds (the checkpoint-sync image); the defaults when null.</param>
public sealed partial class TrainingJobReconciler(
    IClusterPort cluster,
    IReconcileObserver observer,
    TimeProvider time,
    ILogger<TrainingJobReconciler> logger,
    ITrainerProgress? progress = null,
    PodSettings? podSettings = null)
{
    public async Task<ReconcileResult> ReconcileAsync(string key, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var result = await ReconcileCoreAsync(key, cancellationToken).ConfigureAwait(false);
        observer.Reconciled(result, Stopwatch.GetElapsedTime(started));
        return result;
    }

    private async Task<ReconcileResult> ReconcileCoreAsync(string key, CancellationToken cancellationToken)
    {
        var job = cluster.GetJob(key);
        var named = cluster.PodsNamedFor(key);
        if (job is null)
        {
            observer.JobGone(key);
        }

        // The job is gone (garbage collection deletes its pods), or an earlier job of this name left ended pods: let
        // the ended ones go so they can disappear and their names free up.
        foreach (var release in TrainingJobDecider.ReleaseOrphans(job, named))
        {
            await cluster.ReleasePodAsync(named.First(p => p.Metadata.Name == release.Name), cancellationToken).ConfigureAwait(false);
        }

        if (job is null)
        {
            return ReconcileResult.Done;
        }

        var pods = cluster.PodsOf(job);
        // A running attempt is asked where it is (I/O stays here; the decider only reads the answer).
        var running = progress is null
            ? null
            : pods.LastOrDefault(p => p.Metadata.Name == job.Status?.ActivePod && p.Metadata.DeletionTimestamp is null && p.Status?.Phase == "Running"
                && job.Status?.NodeLoss?.Pod != p.Metadata.Name);
        var report = running is null ? null : await progress!.ReadAsync(job, running, cancellationToken).ConfigureAwait(false);
        // The Nodes of the pods still alive, so a pod on a lost Node can be told apart (I/O stays here too).
        var nodeNames = pods.Where(p => PodClassifier.StateOf(p) != PodState.Ended && !string.IsNullOrEmpty(p.Spec?.NodeName))
            .Select(p => p.Spec.NodeName).Distinct(StringComparer.Ordinal).ToList();
        var nodes = nodeNames.Count == 0 ? null : await cluster.NodesAsync(nodeNames, cancellationToken).ConfigureAwait(false);
        var now = time.GetUtcNow();
        // spec.initFrom.trainingJob: the source's checkpoint prefix, read from the cache (never written).
        var init = job.Spec.InitFrom?.TrainingJob is { Length: > 0 } source
            ? InitSource.Resolve(job, cluster.GetJob($"{job.Metadata.NamespaceProperty}/{source}"))
            : null;
        var decision = TrainingJobDecider.Decide(job, pods, now, report, nodes, init);
        observer.Decided(job, decision, now);

        try
        {
            if (decision.Actions.OfType<EnsureWorkerService>().Any() && decision.Actions.OfType<CreatePod>().FirstOrDefault() is { } first)
            {
                // The workers' subdomain exists before any worker, so worker 0's name resolves from its first moment.
                var service = WorkerService.Build(job);
                if (await cluster.EnsureServiceAsync(job, service, cancellationToken).ConfigureAwait(false) is { } refusal)
                {
                    Log.CreateRefused(logger, job.Metadata.NamespaceProperty, service.Metadata.Name, refusal.Code, refusal.Message);
                    decision = PodCreateFailures.Refused(job, decision, first, refusal, now);
                }
            }

            var createdNow = new List<V1Pod>();
            var creates = decision.Actions.OfType<CreatePod>()
                .SelectMany(c => Enumerable.Range(0, c.Workers).Select(rank => (Create: c, Worker: new WorkerSlot(rank, c.Workers))))
                .ToList();
            foreach (var (create, worker) in creates)
            {
                var pod = TrainerPodBuilder.Build(job, create.Attempt, create.Inputs, podSettings, worker);
                var creation = await cluster.CreatePodAsync(pod, cancellationToken).ConfigureAwait(false);
                if (creation is PodCreation.Refused refused)
                {
                    // Refused (admission, quota, validation): say so on the job and back off, instead of retrying blind.
                    Log.CreateRefused(logger, job.Metadata.NamespaceProperty, pod.Metadata.Name, refused.Refusal.Code, refused.Refusal.Message);
                    decision = PodCreateFailures.Refused(job, decision, create, refused.Refusal, now);
                    foreach (var half in createdNow)
                    {
                        // Never half a gang: the workers already created for this attempt go again.
                        await cluster.DeletePodAsync(half.Metadata.NamespaceProperty, half.Metadata.Name, half.Metadata.Uid, cancellationToken).ConfigureAwait(false);
                    }

                    break;
                }

                if (creation is PodCreation.Created { Pod: var made })
                {
                    createdNow.Add(made);
                }

                if (creation is PodCreation.NameTaken { Holder: var holder } && TrainingJobDecider.NameHeld(job, holder) is { } held)
                {
                    // The name is still held by a pod of an earlier TrainingJob with this name: wait until it is gone.
                    Log.NameTaken(logger, job.Metadata.NamespaceProperty, pod.Metadata.Name);
                    if (held.DeleteHolder)
                    {
                        await cluster.DeletePodAsync(holder.Metadata.NamespaceProperty, holder.Metadata.Name, holder.Metadata.Uid, cancellationToken).ConfigureAwait(false);
                    }

                    return ReconcileResult.After(held.LookAgainAfter);
                }

                if (creation is PodCreation.Created)
                {
                    observer.PodCreated(job);
                    Log.PodCreated(logger, job.Metadata.NamespaceProperty, job.Metadata.Name, pod.Metadata.Name);
                }
            }

            if (!TrainingJobDecider.SameStatus(job.Status, decision.Status))
            {
                await cluster.ReplaceStatusAsync(job, decision.Status, cancellationToken).ConfigureAwait(false);
                observer.StatusWritten(job, decision.Status);

                // Events describe the transition just written; record them before anything else can fail.
                await RecordEventsAsync(job, decision.Events, now, cancellationToken).ConfigureAwait(false);
                if (decision.Status.Phase != job.Status?.Phase)
                {
                    Log.PhaseChanged(logger, job.Metadata.NamespaceProperty, job.Metadata.Name, job.Status?.Phase ?? "(new)", decision.Status.Phase ?? "");
                }
            }

            foreach (var action in decision.Actions)
            {
                switch (action)
                {
                    case ReleasePod release when pods.FirstOrDefault(p => p.Metadata.Name == release.Name) is { } pod:
                        await cluster.ReleasePodAsync(pod, cancellationToken).ConfigureAwait(false);
                        break;
                    case DeletePod delete:
                        var uid = pods.FirstOrDefault(p => p.Metadata.Name == delete.Name)?.Metadata.Uid;
                        Log.DeletingPod(logger, job.Metadata.NamespaceProperty, delete.Name, delete.Why);
                        await cluster.DeletePodAsync(job.Metadata.NamespaceProperty, delete.Name, uid, cancellationToken).ConfigureAwait(false);
                        break;
                    case DeleteJob:
                        await cluster.DeleteJobAsync(job, cancellationToken).ConfigureAwait(false);
                        break;
                }
            }
        }
        catch (ConflictException e)
        {
            Log.Conflict(logger, key, e.Message);
            return ReconcileResult.Retry(e.Message);
        }

        if (running is not null && decision.Status.Phase == JobPhases.Running)
        {
            // Look again when the trainer is next due to be asked, to keep the progress and the resume point current.
            // (Not yet scheduled: it refused while starting; ask again an interval from now.)
            var due = progress!.DueIn(running) is { } wait && wait > TimeSpan.Zero ? wait : progress.Interval;
            return ReconcileResult.After(decision.RequeueAfter is { } sooner && sooner < due ? sooner : due);
        }

        return decision.RequeueAfter is { } after ? ReconcileResult.After(after) : ReconcileResult.Done;
    }

    private async Task RecordEventsAsync(TrainingJob job, IEnumerable<JobEvent> events, DateTimeOffset now, CancellationToken cancellationToken)
    {
        foreach (var e in events)
        {
            try
            {
                await cluster.RecordEventAsync(job, e, now, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Events are best effort, as in client-go's recorder.
                Log.EventFailed(logger, job.Key, e.Reason, ex.Message);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "Pod {Namespace}/{Pod} still belongs to an earlier job of that name; waiting for it to go")]
        public static partial void NameTaken(ILogger logger, string @namespace, string pod);

        [LoggerMessage(Level = LogLevel.Information, Message = "Created pod {Namespace}/{Pod} for TrainingJob {Name}")]
        public static partial void PodCreated(ILogger logger, string @namespace, string name, string pod);

        [LoggerMessage(Level = LogLevel.Information, Message = "TrainingJob {Namespace}/{Name}: {From} -> {To}")]
        public static partial void PhaseChanged(ILogger logger, string @namespace, string name, string from, string to);

        [LoggerMessage(Level = LogLevel.Information, Message = "Deleting pod {Namespace}/{Pod}: {Why}")]
        public static partial void DeletingPod(ILogger logger, string @namespace, string pod, string why);

        [LoggerMessage(Level = LogLevel.Warning, Message = "The API server refused to create pod {Namespace}/{Pod} ({Code}): {Message}")]
        public static partial void CreateRefused(ILogger logger, string @namespace, string pod, int code, string message);

        [LoggerMessage(Level = LogLevel.Debug, Message = "Conflict reconciling {Key}: {Message}; retrying")]
        public static partial void Conflict(ILogger logger, string key, string message);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Could not record event {Reason} on {Key}: {Message}")]
        public static partial void EventFailed(ILogger logger, string key, string reason, string message);
    }
}
