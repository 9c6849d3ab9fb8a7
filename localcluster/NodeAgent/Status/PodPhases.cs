namespace K8sTraining.NodeAgent.Status;

/// <summary>The kubelet's pod phase rules (pods without init containers).</summary>
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
    public static string Compute(string? restartPolicy, IReadOnlyList<ContainerSnapshot> containers, bool terminating)
    {
        int running = 0, waiting = 0, stopped = 0, succeeded = 0;
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
