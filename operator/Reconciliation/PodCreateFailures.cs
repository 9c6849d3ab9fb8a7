using System.Globalization;
using System.Text.Json;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Pods;
using k8s.Models;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>The API server's answer to a pod create it refused: HTTP code, its Status reason (PascalCase) and message.</summary>
public sealed record PodCreateRefusal(int Code, string Reason, string Message)
{
    /// <summary>Reads the metav1.Status body the API server sends with an error; falls back to the HTTP code.</summary>
    public static PodCreateRefusal From(int code, string? body, string? fallbackMessage = null)
    {
        string? reason = null;
        string? message = null;
        try
        {
            if (!string.IsNullOrWhiteSpace(body) && JsonSerializer.Deserialize<V1Status>(body) is { } status)
            {
                reason = status.Reason;
                message = status.Message;
            }
        }
        catch (JsonException)
        {
            // Not a Status (a proxy's page): the code says enough.
        }

        reason = string.IsNullOrEmpty(reason) ? ReasonFor(code) : reason;
        message = string.IsNullOrWhiteSpace(message) ? fallbackMessage ?? $"HTTP {code}" : message.Trim();
        return new PodCreateRefusal(code, reason, message);
    }

    /// <summary>
    /// True for the answers that say the API server could not serve the request now, not that it refuses the pod:
    /// 429 TooManyRequests, 500 InternalError, 502, 503 and 504 (those client-go's rest client retries). The operator retries them
    /// with its rate limiter like any failed write; only a refusal is shown on the job and backed off for seconds.
    /// </summary>
    public static bool IsTransient(int code) => code is 429 or 500 or 502 or 503 or 504;

    private static string ReasonFor(int code) => code switch
    {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        422 => "Invalid",
        429 => "TooManyRequests",
        >= 500 => "InternalError",
        _ => "Unknown",
    };
}

/// <summary>
/// A pod create the API server refused (admission, Pod Security, quota, a missing service account, validation): the
/// job says so in a PodCreateFailed condition and one Warning Event carrying the server's message, and tries again
/// with a doubling backoff (10 s to 5 min). A spec change (a new metadata.generation) tries again at once.
/// </summary>
public static class PodCreateFailures
{
    public static readonly TimeSpan FirstBackoff = TimeSpan.FromSeconds(10);

    public static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(5);

    public static TimeSpan BackoffFor(int failures) =>
        TimeSpan.FromSeconds(Math.Min(MaxBackoff.TotalSeconds, FirstBackoff.TotalSeconds * Math.Pow(2, Math.Clamp(failures - 1, 0, 30))));

    /// <summary>True while a refusal of the current spec (same generation) is being backed off.</summary>
    public static bool Active(TrainingJobStatus status, long? generation) =>
        Conditions.Find(status.Conditions, ConditionTypes.PodCreateFailed) is { Status: "True" } c && c.ObservedGeneration == generation;

    /// <summary>True when creates were refused, but for an older spec: try the new one now, without waiting.</summary>
    public static bool SpecChangedSinceRefusal(TrainingJobStatus status, long? generation) =>
        Conditions.Find(status.Conditions, ConditionTypes.PodCreateFailed) is { Status: "True" } c && c.ObservedGeneration != generation;

    /// <summary>
    /// Turns the decision that asked for <paramref name="create"/> into the one to write instead: the attempt was not
    /// created (its number is not spent), the refusal is shown, and the next try is scheduled.
    /// </summary>
    public static Decision Refused(TrainingJob job, Decision decided, CreatePod create, PodCreateRefusal refusal, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(decided);
        ArgumentNullException.ThrowIfNull(create);
        ArgumentNullException.ThrowIfNull(refusal);
        var generation = job.Metadata.Generation;
        var status = TrainingJobDecider.Clone(decided.Status)!;
        var conditions = status.Conditions ??= [];
        var previous = Conditions.Find(conditions, ConditionTypes.PodCreateFailed);
        var again = previous is { Status: "True" } && previous.ObservedGeneration == generation;
        var news = !again || previous!.Message?.EndsWith(refusal.Message, StringComparison.Ordinal) != true;
        var failures = (again ? status.PodCreateFailures : 0) + 1;
        var delay = BackoffFor(failures);
        var pod = PodNames.ForAttempt(job.Metadata.Name, create.Attempt);
        var message = $"the API server refused to create pod {pod} ({refusal.Code} {refusal.Reason}): {refusal.Message}";

        status.Attempt = create.Attempt - 1;
        status.ActivePod = null;
        status.PodCreateFailures = failures;
        status.NextAttemptTime = (now + delay).UtcDateTime;
        status.Phase = status.Attempt == 0 ? JobPhases.Pending : JobPhases.Restarting;
        Conditions.Set(conditions, ConditionTypes.PodCreateFailed, true, refusal.Reason, message, generation, now);
        Conditions.Set(conditions, ConditionTypes.Running, false, ConditionReasons.PodCreateFailed, $"{message}; trying again in {Seconds(delay)}s (at once when the spec changes)", generation, now);

        var events = decided.Events.Where(e => e.Reason != EventReasons.AttemptCreated).ToList();
        if (news)
        {
            events.Add(JobEvent.Warning(EventReasons.PodCreateFailed, $"Could not create pod {pod}: {refusal.Message} ({refusal.Code} {refusal.Reason}); trying again with backoff, or at once when the spec changes"));
        }

        var requeue = decided.RequeueAfter is { } sooner && sooner < delay ? sooner : delay;
        return new Decision(status, decided.Actions.Where(a => a is not CreatePod).ToList(), events, requeue, decided.Disruption);
    }

    /// <summary>A pod of the job exists: any earlier refusal is over.</summary>
    public static bool Clear(TrainingJobStatus status, long? generation, string pod, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(status);
        status.PodCreateFailures = 0;
        if (Conditions.Find(status.Conditions, ConditionTypes.PodCreateFailed) is not { Status: "True" })
        {
            return false;
        }

        Conditions.Set(status.Conditions!, ConditionTypes.PodCreateFailed, false, ConditionReasons.PodCreated, $"created pod {pod}", generation, now);
        return true;
    }

    private static string Seconds(TimeSpan delay) => delay.TotalSeconds.ToString("0", CultureInfo.InvariantCulture);
}
