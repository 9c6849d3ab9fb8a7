using System.Text.Json.Serialization;
using k8s.Models;

namespace K8sTraining.Operator.Api;

/// <summary>What the operator observed: phase, conditions, attempts and where the job will resume.</summary>
public sealed class TrainingJobStatus
{
    [JsonPropertyName("phase")]
    public string? Phase { get; set; }

    [JsonPropertyName("conditions")]
    public IList<V1Condition>? Conditions { get; set; }

    [JsonPropertyName("observedGeneration")]
    public long? ObservedGeneration { get; set; }

    /// <summary>Number of the latest attempt (its pod is &lt;job&gt;-attempt-&lt;attempt&gt;); 0 before the first.</summary>
    [JsonPropertyName("attempt")]
    public int Attempt { get; set; }

    /// <summary>Failed attempts retried so far (counted against maxRestarts).</summary>
    [JsonPropertyName("restarts")]
    public int Restarts { get; set; }

    /// <summary>Attempts ended by preemption (never counted against maxRestarts).</summary>
    [JsonPropertyName("preemptions")]
    public int Preemptions { get; set; }

    [JsonPropertyName("activePod")]
    public string? ActivePod { get; set; }

    [JsonPropertyName("lastCheckpoint")]
    public CheckpointRecord? LastCheckpoint { get; set; }

    /// <summary>Last known position of training (from the trainer's termination message).</summary>
    [JsonPropertyName("progress")]
    public TrainingProgress? Progress { get; set; }

    /// <summary>The checkpoint the next attempt resumes from; null means it starts from the beginning.</summary>
    [JsonPropertyName("resumeFrom")]
    public CheckpointRecord? ResumeFrom { get; set; }

    [JsonPropertyName("lastTermination")]
    public TerminationRecord? LastTermination { get; set; }

    /// <summary>When the next attempt may start after a failure (exponential backoff).</summary>
    [JsonPropertyName("nextAttemptTime")]
    public DateTime? NextAttemptTime { get; set; }

    [JsonPropertyName("testAccuracy")]
    public double? TestAccuracy { get; set; }

    /// <summary>The best checkpoint so far by the validation metric (kept by retention); null while the job has none.</summary>
    [JsonPropertyName("best")]
    public BestRecord? Best { get; set; }

    [JsonPropertyName("startTime")]
    public DateTime? StartTime { get; set; }

    [JsonPropertyName("completionTime")]
    public DateTime? CompletionTime { get; set; }

    /// <summary>
    /// The training settings (and checkpoint uri) the job's checkpoints were trained under, recorded when an attempt
    /// starts from the beginning; a resume refuses other settings, so the operator refuses an edit of them.
    /// </summary>
    [JsonPropertyName("checkpointedTraining")]
    public CheckpointedTraining? CheckpointedTraining { get; set; }

    /// <summary>Pod creations the API server refused in a row (backoff doubles with each; reset by a spec change).</summary>
    [JsonPropertyName("podCreateFailures")]
    public int PodCreateFailures { get; set; }

    /// <summary>Attempts in a row that could not reach the checkpoint store (exit 69); not counted against maxRestarts.</summary>
    [JsonPropertyName("storageRetries")]
    public int StorageRetries { get; set; }

    /// <summary>The stage a staged run is in (from its trainer); null without stages.</summary>
    [JsonPropertyName("stage")]
    public StageStatus? Stage { get; set; }

    /// <summary>Where a fine-tuned run's first weights came from (spec.initFrom), as its trainer reported.</summary>
    [JsonPropertyName("lineage")]
    public LineageStatus? Lineage { get; set; }

    /// <summary>The latest attempt and the spec generation its pod was built from.</summary>
    [JsonPropertyName("currentAttempt")]
    public AttemptRecord? CurrentAttempt { get; set; }

    /// <summary>The current attempt's workers: how many run (ready) out of how many it has (total).</summary>
    [JsonPropertyName("workers")]
    public WorkersStatus? Workers { get; set; }

    /// <summary>status.workers as "ready/total" (the WORKERS printer column).</summary>
    [JsonPropertyName("workersReady")]
    public string? WorkersReady { get; set; }

    /// <summary>Gang attempts in a row whose workers were not all Running within spec.gang.startTimeoutSeconds (the backoff doubles with each; not counted against maxRestarts).</summary>
    [JsonPropertyName("gangStartTimeouts")]
    public int GangStartTimeouts { get; set; }

    /// <summary>The Node loss the job is recovering from: set at its first sign, cleared once the pod runs again.</summary>
    [JsonPropertyName("nodeLoss")]
    public NodeLossRecord? NodeLoss { get; set; }
}

/// <summary>The workers of the current attempt: how many are Running out of how many it has.</summary>
public sealed class WorkersStatus
{
    [JsonPropertyName("ready")]
    public int Ready { get; set; }

    [JsonPropertyName("total")]
    public int Total { get; set; }
}

/// <summary>Why the operator tore a gang attempt down: the first worker seen disrupted, failed or ended, or the start timeout.</summary>
public sealed class GangTeardownRecord
{
    /// <summary>The worker rank that set it off; null for the start timeout.</summary>
    [JsonPropertyName("worker")]
    public int? Worker { get; set; }

    /// <summary>How the attempt counts unless a worker failed on its own: Preempted, or GangStartTimeout.</summary>
    [JsonPropertyName("outcome")]
    public string? Outcome { get; set; }

    [JsonPropertyName("reason")]
    public string? Reason { get; set; }

    [JsonPropertyName("message")]
    public string? Message { get; set; }

    [JsonPropertyName("time")]
    public DateTime? Time { get; set; }
}

/// <summary>A lost Node under the current (or the replaced) attempt's pod.</summary>
public sealed class NodeLossRecord
{
    [JsonPropertyName("node")]
    public string? Node { get; set; }

    /// <summary>The attempt whose pod was on the lost Node.</summary>
    [JsonPropertyName("attempt")]
    public int Attempt { get; set; }

    [JsonPropertyName("pod")]
    public string? Pod { get; set; }

    /// <summary>The first sign of the loss (Ready condition transition, taint timeAdded, or the pod's disruption).</summary>
    [JsonPropertyName("since")]
    public DateTime? Since { get; set; }

    /// <summary>What was seen first: NodeUnreachable, NodeNotReady, NodeDeleted or the pod's DisruptionTarget reason.</summary>
    [JsonPropertyName("reason")]
    public string? Reason { get; set; }

    /// <summary>The nodeLossPolicy that acted (Replace) or is waiting (Wait).</summary>
    [JsonPropertyName("policy")]
    public string? Policy { get; set; }

    /// <summary>When the replacement attempt was created; null while the operator still waits.</summary>
    [JsonPropertyName("replacedAt")]
    public DateTime? ReplacedAt { get; set; }
}

/// <summary>The stage of a staged run: its name, 0-based index and the number of stages.</summary>
public sealed class StageStatus
{
    [JsonPropertyName("name")]
    public string? Name { get; set; }

    [JsonPropertyName("index")]
    public int Index { get; set; }

    [JsonPropertyName("total")]
    public int Total { get; set; }
}

/// <summary>Where a fine-tuned run's first weights came from.</summary>
public sealed class LineageStatus
{
    /// <summary>The source: the checkpoint prefix (s3://... or a directory) the weights were read from.</summary>
    [JsonPropertyName("source")]
    public string? Source { get; set; }

    /// <summary>The source checkpoint read (its location, or best/latest/step-N).</summary>
    [JsonPropertyName("checkpoint")]
    public string? Checkpoint { get; set; }

    [JsonPropertyName("globalStep")]
    public long? GlobalStep { get; set; }

    /// <summary>Parameters not loaded because their name or shape differs (a replaced classifier head).</summary>
    [JsonPropertyName("skippedParameters")]
    public IList<string>? SkippedParameters { get; set; }
}

/// <summary>An attempt: its number, pod, and the spec generation its pod was built from.</summary>
public sealed class AttemptRecord
{
    [JsonPropertyName("attempt")]
    public int Attempt { get; set; }

    [JsonPropertyName("pod")]
    public string? Pod { get; set; }

    /// <summary>The metadata.generation whose spec the attempt's pod was built from.</summary>
    [JsonPropertyName("observedGeneration")]
    public long? ObservedGeneration { get; set; }

    [JsonPropertyName("startTime")]
    public DateTime? StartTime { get; set; }

    /// <summary>The run's epochs the attempt trains to (the sum of the stages' epochs with stages).</summary>
    [JsonPropertyName("epochs")]
    public int? Epochs { get; set; }

    /// <summary>The attempt's worker pods (spec.workers when it was created); null for a single pod.</summary>
    [JsonPropertyName("workers")]
    public int? Workers { get; set; }

    /// <summary>Set when the operator tore the attempt's gang down (a worker disrupted or ended, or the start timeout).</summary>
    [JsonPropertyName("teardown")]
    public GangTeardownRecord? Teardown { get; set; }

    /// <summary>True when the attempt was started with TRAINER_RECONFIGURE=true (changed learning rate, schedule or optimizer settings).</summary>
    [JsonPropertyName("reconfigured")]
    public bool? Reconfigured { get; set; }
}

/// <summary>What the checkpoints at <see cref="Uri"/> were trained with: a copy of spec.training.</summary>
public sealed class CheckpointedTraining
{
    [JsonPropertyName("uri")]
    public string? Uri { get; set; }

    [JsonPropertyName("training")]
    public TrainingSpec? Training { get; set; }

    /// <summary>The names of spec.stages the checkpoints were trained with, in order; stages may only be added after them.</summary>
    [JsonPropertyName("stageNames")]
    public IList<string>? StageNames { get; set; }
}

/// <summary>A durable checkpoint: position after <see cref="GlobalStep"/> steps and where it is stored.</summary>
public sealed class CheckpointRecord
{
    [JsonPropertyName("globalStep")]
    public long GlobalStep { get; set; }

    /// <summary>Epoch of the checkpoint; null when the trainer reported a later position than the checkpoint's.</summary>
    [JsonPropertyName("epoch")]
    public int? Epoch { get; set; }

    [JsonPropertyName("stepInEpoch")]
    public long? StepInEpoch { get; set; }

    [JsonPropertyName("location")]
    public string? Location { get; set; }

    /// <summary>True when committed to the remote store (or when there is no remote store).</summary>
    [JsonPropertyName("uploaded")]
    public bool Uploaded { get; set; }

    [JsonPropertyName("time")]
    public DateTime? Time { get; set; }
}

/// <summary>
/// The best checkpoint: the step directory at <see cref="GlobalStep"/>, measured at the end of <see cref="Epoch"/> on the
/// validation split by <see cref="Metric"/> (<c>val-accuracy</c> or <c>val-loss</c>), and where it is.
/// </summary>
public sealed class BestRecord
{
    [JsonPropertyName("globalStep")]
    public long GlobalStep { get; set; }

    [JsonPropertyName("epoch")]
    public int Epoch { get; set; }

    [JsonPropertyName("metric")]
    public string? Metric { get; set; }

    [JsonPropertyName("value")]
    public double Value { get; set; }

    /// <summary>Which weights won: raw, or their exponential moving average (ema).</summary>
    [JsonPropertyName("weights")]
    public string? Weights { get; set; }

    /// <summary>The checkpoint's URI (s3://.../step-N) when the remote store holds it, else its path in the pod.</summary>
    [JsonPropertyName("location")]
    public string? Location { get; set; }
}

/// <summary>How far training got.</summary>
public sealed class TrainingProgress
{
    [JsonPropertyName("globalStep")]
    public long GlobalStep { get; set; }

    [JsonPropertyName("epoch")]
    public int Epoch { get; set; }

    [JsonPropertyName("stepInEpoch")]
    public long StepInEpoch { get; set; }
}

/// <summary>How the latest finished attempt ended.</summary>
public sealed class TerminationRecord
{
    [JsonPropertyName("attempt")]
    public int Attempt { get; set; }

    [JsonPropertyName("pod")]
    public string? Pod { get; set; }

    /// <summary>One of <see cref="AttemptOutcomes"/>.</summary>
    [JsonPropertyName("outcome")]
    public string? Outcome { get; set; }

    /// <summary>Why: the DisruptionTarget reason, OOMKilled, Error, ExitCode75, PodDeleted...</summary>
    [JsonPropertyName("reason")]
    public string? Reason { get; set; }

    [JsonPropertyName("exitCode")]
    public int? ExitCode { get; set; }

    /// <summary>The metadata.generation whose spec the attempt's pod was built from.</summary>
    [JsonPropertyName("observedGeneration")]
    public long? ObservedGeneration { get; set; }

    [JsonPropertyName("message")]
    public string? Message { get; set; }

    [JsonPropertyName("time")]
    public DateTime? Time { get; set; }
}
