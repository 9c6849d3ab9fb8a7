namespace K8sTraining.LocalCluster.Api.Faults;

/// <summary>
/// The faults one client suffers: the client is every request whose User-Agent starts with
/// <see cref="UserAgentPrefix"/> (the operator sends <c>k8s-training-operator/&lt;identity&gt;</c>). Rates are fractions
/// from 0 to 1; an error rate is drawn once per request, in the order Conflict, TooManyRequests, InternalError.
/// </summary>
public sealed record ApiFaultRule
{
    /// <summary>Which client: a User-Agent prefix (ordinal, case-sensitive); empty matches every client.</summary>
    public required string UserAgentPrefix { get; init; }

    /// <summary>Each watch event reaches the client this much later than it happened (order kept).</summary>
    public TimeSpan WatchDelay { get; init; }

    /// <summary>The fraction of ADDED, MODIFIED and DELETED watch events silently left out (the client must relist to see them).</summary>
    public double DropWatchEvents { get; init; }

    /// <summary>The fraction of writes (create, update, patch, delete) answered 409 Conflict; only writes to a named object.</summary>
    public double Conflict { get; init; }

    /// <summary>The fraction of requests answered 429 TooManyRequests with a Retry-After of <see cref="RetryAfterSeconds"/>.</summary>
    public double TooManyRequests { get; init; }

    /// <summary>The Retry-After (and details.retryAfterSeconds) of a 429, in whole seconds as the header takes them.</summary>
    public int RetryAfterSeconds { get; init; } = 1;

    /// <summary>The fraction of requests answered 500 InternalError.</summary>
    public double InternalError { get; init; }

    /// <summary>When set, each of the client's watches is closed (a clean end of the stream) after a random time in this range.</summary>
    public (TimeSpan Min, TimeSpan Max)? CloseWatchesAfter { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the field that is out of range.</summary>
    public ApiFaultRule Validated()
    {
        ArgumentNullException.ThrowIfNull(UserAgentPrefix);
        foreach (var (name, rate) in new[] { (nameof(DropWatchEvents), DropWatchEvents), (nameof(Conflict), Conflict), (nameof(TooManyRequests), TooManyRequests), (nameof(InternalError), InternalError) })
        {
            if (double.IsNaN(rate) || rate is < 0 or > 1)
            {
                throw new ArgumentException($"{name} is a fraction from 0 to 1, not {rate}");
            }
        }

        if (Conflict + TooManyRequests + InternalError > 1)
        {
            throw new ArgumentException($"Conflict + TooManyRequests + InternalError must not exceed 1, not {Conflict + TooManyRequests + InternalError}");
        }

        if (WatchDelay < TimeSpan.Zero)
        {
            throw new ArgumentException($"WatchDelay must not be negative, not {WatchDelay}");
        }

        if (RetryAfterSeconds < 1)
        {
            throw new ArgumentException($"RetryAfterSeconds must be at least 1, not {RetryAfterSeconds}");
        }

        if (CloseWatchesAfter is { } close && (close.Min <= TimeSpan.Zero || close.Max < close.Min))
        {
            throw new ArgumentException($"CloseWatchesAfter must be a positive range with Min <= Max, not {close.Min}..{close.Max}");
        }

        return this;
    }
}
