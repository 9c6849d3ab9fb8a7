namespace K8sTraining.LocalCluster.Api.Faults;

/// <summary>What the fault mode did to a client: an error answered for a request, or a watch event or stream tampered with.</summary>
public enum ApiFaultKind
{
    /// <summary>A write answered 409 Conflict (the object has been modified).</summary>
    Conflict,

    /// <summary>A request answered 429 TooManyRequests with Retry-After.</summary>
    TooManyRequests,

    /// <summary>A request answered 500 InternalError.</summary>
    InternalError,

    /// <summary>A watch event left out.</summary>
    DroppedEvent,

    /// <summary>A watch event held back by the rule's delay.</summary>
    DelayedEvent,

    /// <summary>A watch closed before its timeout.</summary>
    EarlyClose,
}
