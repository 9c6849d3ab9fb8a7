namespace K8sTraining.NodeAgent.Status;

/// <summary>The kubelet's pod phase rules (its getPhase), init containers and native sidecars included.</summary>
public static class PodPhases
{
    public const string Pending = "Pending";
    public const string Running = "Running";
    public const string Succeeded = "Succeeded";
    public const string Failed = "Failed";

    public static bool IsTerminal(string? phase) => phase is Succeeded or Failed;

    /// <param name="restartPolicy">Always (the default), OnFailure or Never.</param>
    /// <param name="containers">The containers' current states.</param>
    /// <param name="terminating">The pod is being deleted and its containers were stopped: it ends whatever the policy.</param>
    public static string Compute(string? restartPolicy, IReadOnlyList<ContainerSnapshot> containers, bool terminating) =>
        Compute(restartPolicy, [], containers, terminating);

    /// <param name="restartPolicy">Always (the default), OnFailure or Never.</param>
    /// <param name="initContainers">The init containers' states (<see cref="ContainerKind.Init"/> and <see cref="ContainerKind.Sidecar"/>).</param>
    /// <param name="containers">The main containers' states.</param>
    /// <param name="terminating">The pod is being deleted and its containers were stopped: it ends whatever the policy.</param>
    public static string Compute(string? restartPolicy, IReadOnlyList<ContainerSnapshot> initContainers, IReadOnlyList<ContainerSnapshot> containers, bool terminating)
    {
        // As the kubelet: a failed init container fails a restartPolicy Never pod; an init container not completed, or a
        // sidecar not started yet, keeps it Pending; a running sidecar counts as running (the pod stays Running while a
        // sidecar runs after the main containers exited), a stopped one is ignored: the main containers decide the end.
        var pendingInitialization = false;
        var sidecarsRunning = 0;
        foreach (var init in initContainers)
        {
            if (init.Kind == ContainerKind.Sidecar)
            {
                if (init.Running is not null)
                {
                    sidecarsRunning++;
                    pendingInitialization |= !init.StartupDone;
                }
                else if (init.Terminated is null && init.LastTerminated is null)
                {
                    pendingInitialization = true;
                }

                continue;
            }

            if (init.Terminated is { ExitCode: 0 })
            {
                continue;
            }

            if (init.Terminated is not null && (restartPolicy == "Never" || terminating))
            {
                return Failed;
            }

            pendingInitialization = true;
        }

        if (pendingInitialization && !terminating)
        {
            return Pending;
        }

        int running = sidecarsRunning, waiting = 0, stopped = 0, succeeded = 0;
        foreach (var container in containers)
        {
            if (container.Running is not null)
            {
                running++;
            }
            else if (container.Terminated is not null)
            {
                stopped++;
                if (container.Terminated.ExitCode == 0)
                {
                    succeeded++;
                }
            }
            else if (container.LastTerminated is not null)
            {
                stopped++;
            }
            else
            {
                waiting++;
            }
        }

        if (terminating && running == 0 && waiting == 0)
        {
            return stopped == succeeded ? Succeeded : Failed;
        }

        if (waiting > 0)
        {
            return Pending;
        }

        if (running > 0)
        {
            return Running;
        }

        if (stopped > 0)
        {
            return (restartPolicy ?? "Always") switch
            {
                "Never" => stopped == succeeded ? Succeeded : Failed,
                "OnFailure" => stopped == succeeded ? Succeeded : Running,
                _ => Running,
            };
        }

        return Pending;
    }
}
