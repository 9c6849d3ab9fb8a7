using Microsoft.Extensions.Logging;

namespace K8sTraining.NodeAgent.Pods;

internal static partial class Log
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Started container {Namespace}/{Pod}/{Container} as process group {Pid}: {Argv}")]
    public static partial void ContainerStarted(ILogger logger, string @namespace, string pod, string container, int pid, string argv);

    [LoggerMessage(Level = LogLevel.Information, Message = "Container {Namespace}/{Pod}/{Container} exited with code {ExitCode}")]
    public static partial void ContainerExited(ILogger logger, string @namespace, string pod, string container, int exitCode);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Container {Namespace}/{Pod}/{Container} cannot start: {Reason}: {Message}")]
    public static partial void ContainerNotStarted(ILogger logger, string @namespace, string pod, string container, string reason, string message);

    [LoggerMessage(Level = LogLevel.Information, Message = "Killing pod {Namespace}/{Pod} with a grace period of {GraceSeconds}s")]
    public static partial void Killing(ILogger logger, string @namespace, string pod, double graceSeconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Grace period of pod {Namespace}/{Pod} ran out: SIGKILL")]
    public static partial void GraceExpired(ILogger logger, string @namespace, string pod);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pod {Namespace}/{Pod} is {Phase}")]
    public static partial void PhaseChanged(ILogger logger, string @namespace, string pod, string phase);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing the status of pod {Namespace}/{Pod} failed; retrying")]
    public static partial void StatusWriteFailed(ILogger logger, Exception exception, string @namespace, string pod);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted pod {Namespace}/{Pod} (uid {Uid}) after its containers stopped")]
    public static partial void PodDeleted(ILogger logger, string @namespace, string pod, string uid);

    [LoggerMessage(Level = LogLevel.Error, Message = "Pod worker for {Namespace}/{Pod} failed")]
    public static partial void WorkerFailed(ILogger logger, Exception exception, string @namespace, string pod);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pod watch failed; listing again")]
    public static partial void WatchFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pod watch resource version {ResourceVersion} is gone (410); listing again")]
    public static partial void WatchGone(ILogger logger, string resourceVersion);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node agent for {Node} watching pods at {Server}; pod directories under {Root}")]
    public static partial void AgentStarted(ILogger logger, string node, string server, string root);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Event {Reason} for pod {Namespace}/{Pod} not recorded")]
    public static partial void EventNotRecorded(ILogger logger, Exception exception, string reason, string @namespace, string pod);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Registering node {Node} failed")]
    public static partial void NodeRegistrationFailed(ILogger logger, Exception exception, string node);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {Node} frozen ({Mode}): no heartbeat, no status, no pod watch")]
    public static partial void Frozen(ILogger logger, string node, string mode);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {Node} unfrozen: heartbeats resume and its pods are reconciled")]
    public static partial void Unfrozen(ILogger logger, string node);
}
