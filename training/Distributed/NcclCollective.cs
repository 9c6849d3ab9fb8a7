using System.Diagnostics;
using K8sTraining.Contract;
using TorchSharp;
using static TorchSharp.torch;

namespace K8sTraining.Training.Distributed;

/// <summary>
/// The NCCL engine (PyTorch's CUDA backend) on contiguous CUDA tensors, through NCCL's C API loaded on demand. Rank 0
/// creates the unique id and shares it through the rendezvous store; the communicator is created by the first operation,
/// on that tensor's device. Operations run on the device's default stream (ordered after TorchSharp's own work) and
/// return once complete; one that does not complete within the timeout aborts the communicator.
/// </summary>
public sealed unsafe class NcclCollective : ICollective
{
    private const string UniqueIdKey = CollectiveBackends.Nccl + "/unique-id";

    /// <summary>TorchSharp's (libtorch's) default stream: the legacy null stream.</summary>
    private static readonly IntPtr Stream = IntPtr.Zero;

    private readonly NcclLibrary _nccl;
    private readonly CudaRuntime _cuda;
    private readonly TcpRendezvousStore _store;
    private readonly NcclUniqueId _id;
    private readonly TimeSpan _timeout;
    private readonly Lock _gate = new();
    private IntPtr _comm;
    private IntPtr _scratch;
    private int _device = -1;
    private bool _broken;
    private bool _disposed;

    private NcclCollective(CollectiveOptions options, NcclLibrary nccl, CudaRuntime cuda, TcpRendezvousStore store, NcclUniqueId id)
    {
        Rank = options.Rank;
        WorldSize = options.WorldSize;
        _timeout = options.Timeout;
        _nccl = nccl;
        _cuda = cuda;
        _store = store;
        _id = id;
    }

    public int Rank { get; }

    public int WorldSize { get; }

    public string Backend => CollectiveBackends.Nccl;

    /// <summary>Loads NCCL and the CUDA runtime (a clear error where absent), then shares rank 0's unique id.</summary>
    public static NcclCollective Connect(CollectiveOptions options, CancellationToken cancellationToken)
    {
        CollectiveFactory.Validate(options);
        var nccl = NcclLibrary.Load();
        var cuda = CudaRuntime.Load();
        var store = TcpRendezvousStore.Connect(options.Rank, options.MasterAddress, options.MasterPort, options.Timeout, cancellationToken);
        try
        {
            NcclUniqueId id;
            if (options.Rank == 0)
            {
                var status = nccl.GetUniqueId(&id);
                if (status != NcclLibrary.Success)
                {
                    throw new CollectiveException($"rank 0: ncclGetUniqueId failed: {nccl.Describe(status, IntPtr.Zero)}");
                }

                store.Set(UniqueIdKey, new ReadOnlySpan<byte>(id.Internal, NcclUniqueId.Size));
            }
            else
            {
                var bytes = store.Get(UniqueIdKey);
                if (bytes.Length != NcclUniqueId.Size)
                {
                    throw new CollectiveException($"rank {options.Rank}: the NCCL unique id from {store.Endpoint} has {bytes.Length} bytes, not {NcclUniqueId.Size}");
                }

                bytes.CopyTo(new Span<byte>(id.Internal, NcclUniqueId.Size));
            }

            return new NcclCollective(options, nccl, cuda, store, id);
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    public void AllReduceSum(Tensor tensor)
    {
        var dataType = tensor.dtype switch
        {
            ScalarType.Float32 => NcclLibrary.Float32,
            ScalarType.Float64 => NcclLibrary.Float64,
            _ => throw new ArgumentException($"NCCL all-reduce sums float32 or float64 tensors; this one is {tensor.dtype}: convert it first", nameof(tensor)),
        };
        var pointer = CheckCudaContiguous(tensor, "all-reduce");
        var count = checked((nuint)tensor.numel());
        Run("all-reduce", tensor.device_index, comm => _nccl.AllReduce(pointer, pointer, count, dataType, NcclLibrary.Sum, comm, Stream));
        GC.KeepAlive(tensor);
    }

    public void Broadcast(Tensor tensor, int root)
    {
        if (root < 0 || root >= WorldSize)
        {
            throw new ArgumentOutOfRangeException(nameof(root), root, $"the root must be a rank, 0 to {WorldSize - 1}");
        }

        var pointer = CheckCudaContiguous(tensor, "broadcast");
        var size = checked((nuint)TensorMemory.ByteCount(tensor));
        Run("broadcast", tensor.device_index, comm => _nccl.Broadcast(pointer, pointer, size, NcclLibrary.Uint8, root, comm, Stream));
        GC.KeepAlive(tensor);
    }

    /// <summary>NCCL has no barrier: a one-element all-reduce on the communicator's device, as PyTorch does.</summary>
    public void Barrier()
    {
        lock (_gate)
        {
            if (_comm == IntPtr.Zero)
            {
                throw new InvalidOperationException(
                    "the NCCL communicator is created by the first all-reduce or broadcast, on that tensor's device: run one before a barrier");
            }
        }

        Run("barrier", _device, comm => _nccl.AllReduce(_scratch, _scratch, 1, NcclLibrary.Float32, NcclLibrary.Sum, comm, Stream));
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            if (_comm != IntPtr.Zero)
            {
                _ = _broken ? _nccl.CommAbort(_comm) : _nccl.CommDestroy(_comm);
                _comm = IntPtr.Zero;
            }

            if (_scratch != IntPtr.Zero)
            {
                _ = _cuda.Free(_scratch);
                _scratch = IntPtr.Zero;
            }
        }

        _store.Dispose();
    }

    private static IntPtr CheckCudaContiguous(Tensor tensor, string operation)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.device_type != DeviceType.CUDA)
        {
            throw new ArgumentException(
                $"NCCL {operation} takes CUDA tensors; this one is on {tensor.device}. Use the {CollectiveBackends.Gloo} backend for CPU tensors.", nameof(tensor));
        }

        if (!tensor.is_contiguous())
        {
            throw new ArgumentException($"NCCL {operation} takes contiguous tensors (it works on the memory in place): call contiguous() first and copy back.", nameof(tensor));
        }

        return TensorMemory.DataPointer(tensor);
    }

    private void Run(string operation, int device, Func<IntPtr, int> enqueue)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_broken)
            {
                throw new CollectiveException($"NCCL {operation} on rank {Rank}: the communicator was aborted by an earlier failure; the group must be re-formed.");
            }

            // The current device is per thread: set it on whichever thread calls.
            _cuda.Check(_cuda.SetDevice(device), $"rank {Rank}: cudaSetDevice({device})");
            EnsureCommunicator(device);
            var status = enqueue(_comm);
            if (status != NcclLibrary.Success && status != NcclLibrary.InProgress)
            {
                Fail(operation, _nccl.Describe(status, _comm));
            }

            WaitForStream(operation);
        }
    }

    private void EnsureCommunicator(int device)
    {
        if (_comm != IntPtr.Zero)
        {
            if (device != _device)
            {
                throw new ArgumentException($"this rank's NCCL communicator is on cuda:{_device}; the tensor is on cuda:{device}");
            }

            return;
        }

        // ncclCommInitRank blocks until every rank has called it; a rank that never comes must not hang this one forever.
        IntPtr comm = IntPtr.Zero;
        var status = NcclLibrary.Success;
        var id = _id;
        var init = new Thread(() =>
        {
            _ = _cuda.SetDevice(device);
            IntPtr created;
            status = _nccl.CommInitRank(&created, WorldSize, id, Rank);
            comm = created;
        })
        { IsBackground = true, Name = "nccl-init" };
        init.Start();
        if (!init.Join(_timeout))
        {
            _broken = true;
            throw new CollectiveException(
                $"rank {Rank} of {WorldSize}: ncclCommInitRank did not complete within {_timeout.TotalSeconds:0.#} s ({_store.Endpoint}): " +
                "a rank has not reached its first operation; check the other workers' logs.");
        }

        if (status != NcclLibrary.Success)
        {
            throw new CollectiveException($"rank {Rank} of {WorldSize}: ncclCommInitRank on cuda:{device} failed: {_nccl.Describe(status, IntPtr.Zero)}");
        }

        IntPtr scratch;
        _cuda.Check(_cuda.Malloc(&scratch, sizeof(float)), $"rank {Rank}: cudaMalloc");
        _comm = comm;
        _scratch = scratch;
        _device = device;
    }

    private void WaitForStream(string operation)
    {
        var clock = Stopwatch.StartNew();
        var spins = 0;
        while (true)
        {
            var query = _cuda.StreamQuery(Stream);
            if (query == CudaRuntime.Success)
            {
                _cuda.Check(_cuda.StreamSynchronize(Stream), $"rank {Rank}: NCCL {operation}: cudaStreamSynchronize");
                return;
            }

            if (query != CudaRuntime.NotReady)
            {
                _cuda.Check(query, $"rank {Rank}: NCCL {operation}");
            }

            int asyncError;
            var status = _nccl.CommGetAsyncError(_comm, &asyncError);
            if (status == NcclLibrary.Success && asyncError != NcclLibrary.Success && asyncError != NcclLibrary.InProgress)
            {
                Fail(operation, _nccl.Describe(asyncError, _comm));
            }

            if (clock.Elapsed > _timeout)
            {
                Fail(operation, $"not complete within {_timeout.TotalSeconds:0.#} s");
            }

            // Most operations complete within microseconds to milliseconds: spin briefly, then yield the core.
            if (++spins < 1000)
            {
                Thread.SpinWait(20);
            }
            else
            {
                Thread.Sleep(1);
            }
        }
    }

    private void Fail(string operation, string detail)
    {
        _broken = true;
        _ = _nccl.CommAbort(_comm);
        _comm = IntPtr.Zero;
        throw new CollectiveException(
            $"NCCL {operation} failed on rank {Rank} of {WorldSize} (cuda:{_device}; rendezvous {_store.Endpoint}): {detail}. " +
            "A peer exited or stopped answering: check the other workers' logs (a preempted or failed worker takes the group down).");
    }
}
