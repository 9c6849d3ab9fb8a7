using System.Runtime.InteropServices;

namespace K8sTraining.Training.Hosting;

/// <summary>
/// Makes libtorch's OpenMP threads sleep instead of spin while they wait, unless OMP_WAIT_POLICY is set. On a shared or
/// CPU-limited node (a pod with a CPU limit) spinning threads burn the quota: measured here, the cnn ran about 10x slower
/// with spinning threads on a busy 2-core machine. Must run before TorchSharp loads libgomp, which reads it once.
/// </summary>
public static partial class OpenMpThreads
{
    private const string Variable = "OMP_WAIT_POLICY";

    public static void PreferPassiveWaiting()
    {
        if (!OperatingSystem.IsLinux() || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(Variable)))
        {
            return;
        }
        // Environment.SetEnvironmentVariable does not reach the native environment that libgomp reads; setenv(3) does.
        _ = SetEnv(Variable, "PASSIVE", 0);
    }

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);
}
