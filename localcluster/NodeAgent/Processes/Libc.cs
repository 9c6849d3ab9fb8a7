using System.Runtime.InteropServices;

namespace K8sTraining.NodeAgent.Processes;

internal static partial class Libc
{
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);
}
