using System.Globalization;
using System.Text.Json.Nodes;

namespace K8sTraining.LocalCluster.Api;

/// <summary>meta/v1 DeleteOptions, from the request body and the query string (the query wins where both are given).</summary>
public sealed record DeleteOptions
{
    public long? GracePeriodSeconds { get; init; }

    public string? PropagationPolicy { get; init; }

    public bool? OrphanDependents { get; init; }

    public string? PreconditionUid { get; init; }

    public string? PreconditionResourceVersion { get; init; }

    public bool DryRun { get; init; }

    public static DeleteOptions From(JsonObject? body, Func<string, string?> query)
    {
        var options = new DeleteOptions
        {
            GracePeriodSeconds = (long?)body?["gracePeriodSeconds"],
            PropagationPolicy = (string?)body?["propagationPolicy"],
            OrphanDependents = (bool?)body?["orphanDependents"],
            PreconditionUid = (string?)body?["preconditions"]?["uid"],
            PreconditionResourceVersion = (string?)body?["preconditions"]?["resourceVersion"],
            DryRun = body?["dryRun"] is JsonArray { Count: > 0 },
        };
        if (query("gracePeriodSeconds") is { } g && long.TryParse(g, NumberStyles.Integer, CultureInfo.InvariantCulture, out var grace))
        {
            options = options with { GracePeriodSeconds = grace };
        }

        if (query("propagationPolicy") is { Length: > 0 } p)
        {
            options = options with { PropagationPolicy = p };
        }

        if (query("orphanDependents") is { } o && bool.TryParse(o, out var orphan))
        {
            options = options with { OrphanDependents = orphan };
        }

        if (query("dryRun") is { Length: > 0 })
        {
            options = options with { DryRun = true };
        }

        if (options.PropagationPolicy is { } policy && policy is not ("Background" or "Foreground" or "Orphan"))
        {
            throw ApiException.BadRequest($"DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"{policy}\": supported values: \"Foreground\", \"Background\", \"Orphan\"");
        }

        return options;
    }
}
