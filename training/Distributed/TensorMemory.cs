using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace K8sTraining.Training.Distributed;

/// <summary>
/// The address of a tensor's first element (host memory for CPU tensors, device memory for CUDA ones), which TorchSharp
/// does not expose: its own native library's THSTensor_data, i.e. at::Tensor::data_ptr().
/// </summary>
internal static partial class TensorMemory
{
    public static IntPtr DataPointer(Tensor tensor) => Data(tensor.Handle);

    /// <summary>The tensor's size in bytes.</summary>
    public static long ByteCount(Tensor tensor) => tensor.numel() * tensor.element_size();

    [LibraryImport("LibTorchSharp", EntryPoint = "THSTensor_data")]
    private static partial IntPtr Data(IntPtr tensor);
}
