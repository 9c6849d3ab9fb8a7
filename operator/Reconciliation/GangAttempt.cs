using System.Globalization;
using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using k8s.Models;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>Why a gang attempt must end now: the first worker seen disrupted, failed, ended or missing.</summary>
public sealed record GangBreak(int? Worker, string Reason, string Message);

/// <summary>
/// The pods of one multi-worker attempt read as one (issue 18): its state (Running only when every worker runs, ended
/// only when every worker has), whether it is broken (one worker disrupted, deleted, failed or gone while others live:
/// the gang must be torn down, since its collective cannot go on without it) and, once every worker has ended, how the
/// attempt counts. A single-pod attempt is never a gang; it is read as before, pod by pod.
/// </summary>
public sealed record GangAttempt(int Attempt, int Workers, IReadOnlyList<V1Pod> Pods)
{
    /// <summary>The gang of <paramref name="attempt"/> among <paramref name="pods"/>, or null when that attempt is a single pod (or has none).</summary>
    public static GangAttempt? Of(IReadOnlyList<V1Pod> pods, int attempt)
    {
        ArgumentNullException.ThrowIfNull(pods);
        var workers = pods.Where(p => PodClassifier.AttemptOf(p) == attempt && IsGangPod(p)).OrderBy(p => RankOf(p) ?? int.MaxValue).ToList();
        return workers.Count == 0 ? null : new GangAttempt(attempt, workers.Max(WorkersOf), workers);
    }

    /// <summary>A worker of a multi-worker attempt (it carries the attempt's worker count).</summary>
    public static bool IsGangPod(V1Pod pod) => pod.Metadata?.Annotations?.ContainsKey(WellKnown.WorkersAnnotation) == true;

    public static int? RankOf(V1Pod pod) =>
        pod.Metadata?.Labels?.TryGetValue(WellKnown.WorkerRankLabel, out var value) == true && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var rank) ? rank : null;

    public static int WorkersOf(V1Pod pod) =>
        pod.Metadata?.Annotations?.TryGetValue(WellKnown.WorkersAnnotation, out var value) == true && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : 1;

    /// <summary>Worker 0, whose trainer reports for the attempt (its termination message, its /metrics); the lowest rank present when it is gone.</summary>
    public V1Pod Lead => Pods[0];

    /// <summary>Workers running now.</summary>
    public int Running => Pods.Count(p => PodClassifier.StateOf(p) == PodState.Running);

    /// <summary>Ranks of the attempt that have no pod (never created, or gone).</summary>
    public IReadOnlyList<int> Missing => [.. Enumerable.Range(0, Workers).Where(r => Pods.All(p => RankOf(p) != r))];

    /// <summary>
    /// Ended when every worker has ended (a missing one counts as ended), Terminating while some stop or have ended other
    /// than by success (or are missing) and others still live, Running when every live worker runs, else Pending.
    /// </summary>
    public PodState State
    {
        get
        {
            var states = Pods.Select(PodClassifier.StateOf).ToList();
            if (states.All(s => s == PodState.Ended))
            {
                return PodState.Ended;
            }

            // A worker that completed leaves its peers to finish theirs: only another end stops the gang.
            var stopped = Pods.Any(p => PodClassifier.StateOf(p) == PodState.Ended && Classify(p).Outcome != AttemptOutcomes.Succeeded);
            if (Missing.Count > 0 || stopped || states.Any(s => s is PodState.Terminating or PodState.Finishing))
            {
                return PodState.Terminating;
            }

            return states.Where(s => s != PodState.Ended).All(s => s == PodState.Running) ? PodState.Running : PodState.Pending;
        }
    }

    /// <summary>The live workers (pending or running) a teardown still has to delete.</summary>
    public IEnumerable<V1Pod> Alive => Pods.Where(p => PodClassifier.StateOf(p) is PodState.Pending or PodState.Running);

    /// <summary>
    /// The first sign (lowest rank) that the gang cannot go on: a worker disrupted (DisruptionTarget), deleted, missing,
    /// or ended other than by success. A worker that completed (exit 0) breaks nothing: the others are finishing too.
    /// </summary>
    public GangBreak? Break()
    {
        foreach (var pod in Pods)
        {
            var rank = RankOf(pod);
            var name = pod.Metadata.Name;
            var state = PodClassifier.StateOf(pod);
            var disruption = pod.Status?.Conditions?.FirstOrDefault(c => c.Type == WellKnown.DisruptionTarget && c.Status == "True");
            if (state is PodState.Ended or PodState.Finishing)
            {
                var outcome = Classify(pod);
                if (outcome.Outcome != AttemptOutcomes.Succeeded)
                {
                    return new GangBreak(rank, outcome.Reason, $"worker {rank} ({outcome.Message})");
                }
            }
            else if (disruption is not null)
            {
                var reason = disruption.Reason ?? WellKnown.DisruptionTarget;
                return new GangBreak(rank, reason, $"worker {rank} (pod {name} disrupted ({reason}))");
            }
            else if (state == PodState.Terminating)
            {
                return new GangBreak(rank, "PodDeleted", $"worker {rank} (pod {name} was deleted while running)");
            }
        }

        if (Missing is [var missing, ..])
        {
            return new GangBreak(missing, "PodMissing", $"worker {missing} (its pod is gone before its end was observed)");
        }

        return null;
    }

    /// <summary>
    /// How the ended attempt counts, with worker 0's termination message as its report: a worker that failed on its own
    /// (not disrupted, not deleted, not 75, not 77 PeerLost) fails it once; else success when worker 0 completed; else
    /// the recorded teardown's outcome (a preemption, or the start timeout); else a preemption.
    /// </summary>
    public PodOutcome Outcome(GangTeardownRecord? teardown)
    {
        var outcomes = Pods.Select(Classify).ToList();
        var lead = RankOf(Lead) == 0 ? outcomes[0] : null;
        PodOutcome Report(PodOutcome o) => o with { Termination = lead?.Termination, SyncTermination = lead?.SyncTermination };
        var failure = outcomes.FirstOrDefault(o => o.Outcome is not (AttemptOutcomes.Succeeded or AttemptOutcomes.Preempted));
        if (failure is not null)
        {
            return Report(failure);
        }

        if (lead is { Outcome: AttemptOutcomes.Succeeded })
        {
            return lead;
        }

        if (teardown is { Outcome: { } outcome })
        {
            var trigger = teardown.Worker is { } w ? Pods.Zip(outcomes).FirstOrDefault(x => RankOf(x.First) == w).Second : null;
            return Report(new PodOutcome(outcome, teardown.Reason ?? outcome, trigger?.ExitCode, teardown.Message ?? outcome, null));
        }

        var preempted = outcomes.FirstOrDefault(o => o.Reason != TerminationReasons.PeerLost && o.IsPreemption) ?? outcomes.FirstOrDefault(o => o.IsPreemption);
        return Report(preempted ?? new PodOutcome(AttemptOutcomes.Preempted, "PodMissing", null, $"the workers of attempt {Attempt} are gone", null));
    }

    /// <summary>A worker's own outcome: as a single pod's, except that exit 77 (a peer vanished mid-collective) is the gang's preemption, never a failure.</summary>
    public static PodOutcome Classify(V1Pod pod)
    {
        var outcome = PodClassifier.Classify(pod);
        return outcome.Outcome == AttemptOutcomes.Failed && outcome.ExitCode == TrainerExitCodes.PeerLost
            ? outcome with { Outcome = AttemptOutcomes.Preempted, Reason = TerminationReasons.PeerLost, Message = $"trainer in pod {pod.Metadata?.Name} lost a peer and stopped (exit {TrainerExitCodes.PeerLost})" }
            : outcome;
    }
}
