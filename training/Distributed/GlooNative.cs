using System.Runtime.InteropServices;

namespace K8sTraining.Training.Distributed;

/// <summary>
/// libk8straining_gloo.so (trainer/Native/gloo/), built at build time and copied beside libLibTorchSharp.so, whose
/// folder the runtime probes. Status codes are k8straining_gloo.h's.
/// </summary>
internal static unsafe partial class GlooNative
{
    public const string Library = "k8straining_gloo";

    public const int Ok = 0;
    public const int IoError = 1;
    public const int Error = 2;
    public const int InvalidArgument = 3;
    public const int StoreError = 4;

    [LibraryImport(Library, EntryPoint = "k8st_gloo_connect", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Connect(
        int rank,
        int size,
        string bindHost,
        long timeoutMs,
        IntPtr user,
        delegate* unmanaged<IntPtr, byte*, byte*, nuint, int> set,
        delegate* unmanaged<IntPtr, byte*, void**, nuint*, int> get,
        delegate* unmanaged<IntPtr, byte**, nuint, long, int> wait,
        out IntPtr context);

    [LibraryImport(Library, EntryPoint = "k8st_gloo_allreduce_sum_f32")]
    public static partial int AllReduceSumFloat32(IntPtr context, IntPtr data, nuint count);

    [LibraryImport(Library, EntryPoint = "k8st_gloo_allreduce_sum_f64")]
    public static partial int AllReduceSumFloat64(IntPtr context, IntPtr data, nuint count);

    [LibraryImport(Library, EntryPoint = "k8st_gloo_broadcast")]
    public static partial int Broadcast(IntPtr context, IntPtr data, nuint size, int root);

    [LibraryImport(Library, EntryPoint = "k8st_gloo_barrier")]
    public static partial int Barrier(IntPtr context);

    [LibraryImport(Library, EntryPoint = "k8st_gloo_destroy")]
    public static partial void Destroy(IntPtr context);

    [LibraryImport(Library, EntryPoint = "k8st_gloo_last_error")]
    private static partial IntPtr LastErrorPointer();

    /// <summary>The calling thread's last failure, copied before the next call can overwrite it.</summary>
    public static string LastError() => Marshal.PtrToStringUTF8(LastErrorPointer()) ?? "";
}
