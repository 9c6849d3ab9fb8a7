using System.Runtime.InteropServices;
using K8sTraining.Contract;

namespace K8sTraining.Training.Distributed;

/// <summary>
/// The few CUDA runtime calls the NCCL backend needs (device, stream completion, a scratch buffer), from the runtime
/// TorchSharp's CUDA build ships beside it, else the system's; loaded on first use.
/// </summary>
internal sealed unsafe class CudaRuntime
{
    public const int Success = 0;
    public const int NotReady = 600;

    private static readonly string[] SystemNames = ["libcudart.so.12", "libcudart.so.11.0", "libcudart.so"];
    private static readonly Lock Gate = new();
    private static CudaRuntime? _loaded;

    private CudaRuntime(IntPtr handle, string path)
    {
        Path = path;
        SetDevice = (delegate* unmanaged<int, int>)NativeLibraries.Export(handle, "cudaSetDevice", path);
        StreamQuery = (delegate* unmanaged<IntPtr, int>)NativeLibraries.Export(handle, "cudaStreamQuery", path);
        StreamSynchronize = (delegate* unmanaged<IntPtr, int>)NativeLibraries.Export(handle, "cudaStreamSynchronize", path);
        Malloc = (delegate* unmanaged<IntPtr*, nuint, int>)NativeLibraries.Export(handle, "cudaMalloc", path);
        Free = (delegate* unmanaged<IntPtr, int>)NativeLibraries.Export(handle, "cudaFree", path);
        GetErrorString = (delegate* unmanaged<int, byte*>)NativeLibraries.Export(handle, "cudaGetErrorString", path);
    }

    public string Path { get; }

    public delegate* unmanaged<int, int> SetDevice { get; }

    public delegate* unmanaged<IntPtr, int> StreamQuery { get; }

    public delegate* unmanaged<IntPtr, int> StreamSynchronize { get; }

    public delegate* unmanaged<IntPtr*, nuint, int> Malloc { get; }

    public delegate* unmanaged<IntPtr, int> Free { get; }

    public delegate* unmanaged<int, byte*> GetErrorString { get; }

    public static CudaRuntime Load()
    {
        lock (Gate)
        {
            if (_loaded is not null)
            {
                return _loaded;
            }

            if (!NativeLibraries.TryLoad(SystemNames, ["libcudart*.so*"], out var handle, out var tried))
            {
                throw new CollectiveException(
                    $"the {CollectiveBackends.Nccl} backend needs the CUDA runtime, and libcudart is not present (tried {tried}): " +
                    "use the CUDA trainer image (TorchSharp's CUDA build ships it).");
            }

            _loaded = new CudaRuntime(handle, tried);
            return _loaded;
        }
    }

    public void Check(int status, string what)
    {
        if (status != Success)
        {
            throw new CollectiveException($"{what}: CUDA error {status}: {Marshal.PtrToStringUTF8((IntPtr)GetErrorString(status))}");
        }
    }
}
