using System.Text.Json.Nodes;
using K8sTraining.LocalCluster.Resources;

namespace K8sTraining.LocalCluster.Api.Faults;

/// <summary>The fault mode's choices as pure functions of a rule, the request and a random draw in [0, 1).</summary>
public static class ApiFaultDecisions
{
    /// <summary>The message of an injected 500, so a log reader can tell it from a real one.</summary>
    public const string InjectedInternalError = "injected by the local control plane's fault mode";

    /// <summary>Verbs that change state: only these may get 409 Conflict.</summary>
    public static bool IsWrite(string verb) => verb is "create" or "update" or "patch" or "delete" or "deletecollection";

    /// <summary>
    /// The error a request gets, or null: the draw falls in the Conflict band (a write to a named object only: a real
    /// server's create of a new name never conflicts), then the TooManyRequests band, then the InternalError band.
    /// </summary>
    public static ApiFaultKind? RequestFault(ApiFaultRule rule, string verb, bool named, double draw)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var conflict = IsWrite(verb) && named ? rule.Conflict : 0;
        if (draw < conflict)
        {
            return ApiFaultKind.Conflict;
        }

        if (draw < conflict + rule.TooManyRequests)
        {
            return ApiFaultKind.TooManyRequests;
        }

        return draw < conflict + rule.TooManyRequests + rule.InternalError ? ApiFaultKind.InternalError : null;
    }

    /// <summary>True when the rule asks for any request error, so no draw is spent on a rule without them.</summary>
    public static bool HasRequestFaults(ApiFaultRule rule) =>
        rule.Conflict > 0 || rule.TooManyRequests > 0 || rule.InternalError > 0;

    /// <summary>How long a watch stays open under the rule: its timeout, or sooner when the rule closes watches early.</summary>
    public static TimeSpan WatchLifetime(ApiFaultRule rule, TimeSpan timeout, double draw)
    {
        ArgumentNullException.ThrowIfNull(rule);
        if (rule.CloseWatchesAfter is not { } range)
        {
            return timeout;
        }

        var early = range.Min + ((range.Max - range.Min) * draw);
        return early < timeout ? early : timeout;
    }

    /// <summary>The first rule whose prefix the User-Agent starts with, or null.</summary>
    public static ApiFaultRule? RuleFor(IReadOnlyList<ApiFaultRule> rules, string userAgent)
    {
        ArgumentNullException.ThrowIfNull(rules);
        return rules.FirstOrDefault(r => (userAgent ?? "").StartsWith(r.UserAgentPrefix, StringComparison.Ordinal));
    }

    /// <summary>The metav1.Status a real API server answers for each error kind.</summary>
    public static ApiException ErrorFor(ApiFaultKind kind, ResourceType type, string? name, int retryAfterSeconds)
    {
        ArgumentNullException.ThrowIfNull(type);
        return kind switch
        {
            ApiFaultKind.Conflict => ApiException.StaleResourceVersion(type.GroupResource, name ?? "", type.Group, type.Plural),
            // The apiserver's max-in-flight and priority-and-fairness filters: this message, details.retryAfterSeconds and the Retry-After header.
            ApiFaultKind.TooManyRequests => new ApiException(429, "TooManyRequests", "Too many requests, please try again later.",
                new JsonObject { ["retryAfterSeconds"] = retryAfterSeconds }),
            // errors.NewInternalError: the message prefixed, the cause in details.causes.
            ApiFaultKind.InternalError => new ApiException(500, "InternalError", $"Internal error occurred: {InjectedInternalError}",
                new JsonObject { ["causes"] = new JsonArray(new JsonObject { ["message"] = InjectedInternalError }) }),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a request error"),
        };
    }
}
