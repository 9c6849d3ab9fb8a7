using System.Runtime.InteropServices;
using K8sTraining.Contract;

namespace K8sTraining.Training.Distributed;

/// <summary>NCCL's unique id (ncclUniqueId): rank 0's bootstrap address, passed to every rank through the store.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct NcclUniqueId
{
    public const int Size = 128;

    public fixed byte Internal[Size];
}

/// <summary>
/// NCCL's C API (nccl.h), loaded from libnccl.so.2 on first use: no P/Invoke binding is resolved before, so a CPU
/// machine never needs the library, and one without it gets a <see cref="CollectiveException"/> that says so.
/// </summary>
internal sealed unsafe class NcclLibrary
{
    public const string Name = "libnccl.so.2";

    // ncclResult_t
    public const int Success = 0;
    public const int InProgress = 7;

    // ncclDataType_t and ncclRedOp_t
    public const int Uint8 = 1;
    public const int Float32 = 7;
    public const int Float64 = 8;
    public const int Sum = 0;

    private static readonly Lock Gate = new();
    private static NcclLibrary? _loaded;

    private NcclLibrary(IntPtr handle, string path)
    {
        Path = path;
        GetUniqueId = (delegate* unmanaged<NcclUniqueId*, int>)NativeLibraries.Export(handle, "ncclGetUniqueId", Name);
        CommInitRank = (delegate* unmanaged<IntPtr*, int, NcclUniqueId, int, int>)NativeLibraries.Export(handle, "ncclCommInitRank", Name);
        AllReduce = (delegate* unmanaged<IntPtr, IntPtr, nuint, int, int, IntPtr, IntPtr, int>)NativeLibraries.Export(handle, "ncclAllReduce", Name);
        Broadcast = (delegate* unmanaged<IntPtr, IntPtr, nuint, int, int, IntPtr, IntPtr, int>)NativeLibraries.Export(handle, "ncclBroadcast", Name);
        CommGetAsyncError = (delegate* unmanaged<IntPtr, int*, int>)NativeLibraries.Export(handle, "ncclCommGetAsyncError", Name);
        CommAbort = (delegate* unmanaged<IntPtr, int>)NativeLibraries.Export(handle, "ncclCommAbort", Name);
        CommDestroy = (delegate* unmanaged<IntPtr, int>)NativeLibraries.Export(handle, "ncclCommDestroy", Name);
        GetErrorString = (delegate* unmanaged<int, byte*>)NativeLibraries.Export(handle, "ncclGetErrorString", Name);
        // ncclGetLastError (2.13+) adds the detail behind a status; older versions lack it.
        GetLastError = NativeLibrary.TryGetExport(handle, "ncclGetLastError", out var last) ? (delegate* unmanaged<IntPtr, byte*>)last : null;
    }

    public string Path { get; }

    public delegate* unmanaged<NcclUniqueId*, int> GetUniqueId { get; }

    /// <summary>(comm*, nranks, id, rank).</summary>
    public delegate* unmanaged<IntPtr*, int, NcclUniqueId, int, int> CommInitRank { get; }

    /// <summary>(send, recv, count, datatype, op, comm, stream).</summary>
    public delegate* unmanaged<IntPtr, IntPtr, nuint, int, int, IntPtr, IntPtr, int> AllReduce { get; }

    /// <summary>(send, recv, count, datatype, root, comm, stream).</summary>
    public delegate* unmanaged<IntPtr, IntPtr, nuint, int, int, IntPtr, IntPtr, int> Broadcast { get; }

    public delegate* unmanaged<IntPtr, int*, int> CommGetAsyncError { get; }

    public delegate* unmanaged<IntPtr, int> CommAbort { get; }

    public delegate* unmanaged<IntPtr, int> CommDestroy { get; }

    public delegate* unmanaged<int, byte*> GetErrorString { get; }

    public delegate* unmanaged<IntPtr, byte*> GetLastError { get; }

    /// <summary>NCCL, loaded once per process from <see cref="Name"/> (or libnccl.so).</summary>
    public static NcclLibrary Load() => Load([Name, "libnccl.so"]);

    /// <summary>NCCL from the first of <paramref name="names"/> that loads.</summary>
    public static NcclLibrary Load(IReadOnlyList<string> names)
    {
        lock (Gate)
        {
            if (_loaded is not null)
            {
                return _loaded;
            }

            if (!NativeLibraries.TryLoad(names, ["libnccl*.so*"], out var handle, out var tried))
            {
                throw new CollectiveException(
                    $"the {CollectiveBackends.Nccl} backend needs NVIDIA's NCCL, and {Name} is not present on this machine (tried {tried}). " +
                    $"Use the CUDA trainer image (it installs libnccl2), or the {CollectiveBackends.Gloo} backend on a CPU machine.");
            }

            _loaded = new NcclLibrary(handle, tried);
            return _loaded;
        }
    }

    /// <summary>"ncclUnhandledCudaError (unhandled cuda error ...): last error".</summary>
    public string Describe(int result, IntPtr comm)
    {
        var text = Marshal.PtrToStringUTF8((IntPtr)GetErrorString(result)) ?? $"error {result}";
        if (GetLastError != null)
        {
            var last = Marshal.PtrToStringUTF8((IntPtr)GetLastError(comm));
            if (!string.IsNullOrWhiteSpace(last))
            {
                text += $": {last}";
            }
        }

        return $"NCCL error {result}: {text}";
    }
}
