using System.Diagnostics;

namespace K8sTraining.Metrics.Tests.Support;

public static class Signals
{
    /// <summary>Sends SIGTERM, as the kubelet does when a pod is deleted or preempted.</summary>
    public static void Terminate(int pid)
    {
        using var kill = Process.Start("kill", ["-TERM", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }
}
