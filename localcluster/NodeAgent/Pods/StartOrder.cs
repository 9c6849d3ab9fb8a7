using K8sTraining.NodeAgent.Status;

namespace K8sTraining.NodeAgent.Pods;

/// <summary>
/// Which containers of a pod may start now, the kubelet's way: init containers one after the other, each regular one
/// run to completion and each sidecar (restartPolicy Always) started (past its startup probe) before the next begins;
/// the main containers all together once every init container is done.
/// </summary>
internal static class StartOrder
{
    /// <summary>The containers that may (re)start now, subject to their own back-off; <paramref name="initialized"/> once the main containers may start.</summary>
    public static IReadOnlyList<ContainerSlot> Startable(IReadOnlyList<ContainerSlot> init, IReadOnlyList<ContainerSlot> main, out bool initialized)
    {
        var startable = new List<ContainerSlot>();
        initialized = false;
        foreach (var slot in init)
        {
            if (slot.Kind == ContainerKind.Sidecar)
            {
                // A sidecar that started once is restarted whenever it exits, without holding back what follows it.
                startable.Add(slot);
                if (slot.EverStartedUp)
                {
                    continue;
                }

                return startable;
            }

            if (slot.Terminated is { ExitCode: 0 })
            {
                continue;
            }

            if (slot.Terminated is null)
            {
                // Not run yet, running, or waiting to be run again after a failure (restartPolicy OnFailure/Always).
                startable.Add(slot);
            }

            // A failed one (restartPolicy Never) ends the pod: nothing after it starts.
            return startable;
        }

        initialized = true;
        startable.AddRange(main);
        return startable;
    }

    /// <summary>The containers the kubelet stops first when the pod ends: the main ones and a running regular init container.</summary>
    public static IEnumerable<ContainerSlot> StoppedFirst(IEnumerable<ContainerSlot> slots) => slots.Where(s => s.Kind != ContainerKind.Sidecar);

    /// <summary>Then the sidecars, one at a time, in reverse order.</summary>
    public static IEnumerable<ContainerSlot> SidecarsInStopOrder(IEnumerable<ContainerSlot> slots) => slots.Where(s => s.Kind == ContainerKind.Sidecar).Reverse();
}
