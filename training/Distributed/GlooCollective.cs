using System.Net;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using K8sTraining.Contract;
using TorchSharp;
using static TorchSharp.torch;

namespace K8sTraining.Training.Distributed;

/// <summary>
/// The Gloo engine (PyTorch's CPU backend) through libk8straining_gloo.so: contiguous CPU tensors, all-reduce by Gloo's
/// ring (every rank ends with the same bits, run to run), broadcast, barrier; TCP between ranks on the bind address.
/// </summary>
public sealed unsafe class GlooCollective : ICollective
{
    /// <summary>Namespaces Gloo's keys in the group's store.</summary>
    private const string KeyPrefix = CollectiveBackends.Gloo + "/";

    private readonly TcpRendezvousStore _store;
    private readonly Lock _gate = new();
    private IntPtr _context;

    private GlooCollective(CollectiveOptions options, string bindHost, TcpRendezvousStore store, IntPtr context)
    {
        Rank = options.Rank;
        WorldSize = options.WorldSize;
        BindHost = bindHost;
        _store = store;
        _context = context;
    }

    public int Rank { get; }

    public int WorldSize { get; }

    public string Backend => CollectiveBackends.Gloo;

    /// <summary>The address this rank binds and advertises to its peers.</summary>
    public string BindHost { get; }

    /// <summary>Joins the group: rendezvous through rank 0's store, then a TCP connection to every peer.</summary>
    public static GlooCollective Connect(CollectiveOptions options, CancellationToken cancellationToken)
    {
        CollectiveFactory.Validate(options);
        var bindHost = string.IsNullOrWhiteSpace(options.BindAddress) ? Dns.GetHostName() : options.BindAddress;
        var store = TcpRendezvousStore.Connect(options.Rank, options.MasterAddress, options.MasterPort, options.Timeout, cancellationToken);
        try
        {
            var bridge = new StoreBridge(store, options.Timeout);
            var handle = GCHandle.Alloc(bridge);
            int status;
            IntPtr context;
            try
            {
                status = GlooNative.Connect(
                    options.Rank,
                    options.WorldSize,
                    bindHost,
                    (long)options.Timeout.TotalMilliseconds,
                    GCHandle.ToIntPtr(handle),
                    &StoreBridge.Set,
                    &StoreBridge.Get,
                    &StoreBridge.Wait,
                    out context);
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                throw new CollectiveException(
                    $"the Gloo engine could not be loaded ({e.Message}). It needs lib{GlooNative.Library}.so beside the trainer " +
                    "(the build puts it in runtimes/linux-x64/native/) and Gloo's library (apt-get install libgloo0; make deps on a build machine).", e);
            }
            finally
            {
                handle.Free();
            }

            if (status != GlooNative.Ok)
            {
                var native = GlooNative.LastError();
                cancellationToken.ThrowIfCancellationRequested();
                if (bridge.Failure is CollectiveException failure)
                {
                    throw new CollectiveException($"rank {options.Rank} of {options.WorldSize}: the Gloo rendezvous failed: {failure.Message}", failure);
                }

                throw new CollectiveException(
                    $"rank {options.Rank} of {options.WorldSize} (bound to {bindHost}) could not connect to its peers through the rendezvous at " +
                    $"{store.Endpoint}: {native}{Because(bridge.Failure)}. Check that every worker is running, that each one's bind address " +
                    $"({DistributedEnvironment.PodIP} or its host name) is reachable from the others, and that no network policy blocks TCP between the pods.",
                    bridge.Failure!);
            }

            return new GlooCollective(options, bindHost, store, context);
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    public void AllReduceSum(Tensor tensor)
    {
        CheckCpuContiguous(tensor, "all-reduce");
        var count = checked((nuint)tensor.numel());
        Run("all-reduce", tensor, context => tensor.dtype switch
        {
            ScalarType.Float32 => GlooNative.AllReduceSumFloat32(context, TensorMemory.DataPointer(tensor), count),
            ScalarType.Float64 => GlooNative.AllReduceSumFloat64(context, TensorMemory.DataPointer(tensor), count),
            _ => throw new ArgumentException($"Gloo all-reduce sums float32 or float64 tensors; this one is {tensor.dtype}: convert it first", nameof(tensor)),
        });
    }

    public void Broadcast(Tensor tensor, int root)
    {
        CheckCpuContiguous(tensor, "broadcast");
        if (root < 0 || root >= WorldSize)
        {
            throw new ArgumentOutOfRangeException(nameof(root), root, $"the root must be a rank, 0 to {WorldSize - 1}");
        }

        var size = checked((nuint)TensorMemory.ByteCount(tensor));
        Run("broadcast", tensor, context => GlooNative.Broadcast(context, TensorMemory.DataPointer(tensor), size, root));
    }

    public void Barrier() => Run("barrier", null, GlooNative.Barrier);

    /// <summary>Closes the connections (the peers see this rank leave) and rank 0's rendezvous store.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_context != IntPtr.Zero)
            {
                GlooNative.Destroy(_context);
                _context = IntPtr.Zero;
            }
        }

        _store.Dispose();
    }

    private void Run(string operation, Tensor? tensor, Func<IntPtr, int> call)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_context == IntPtr.Zero, this);
            var status = call(_context);
            GC.KeepAlive(tensor);
            if (status == GlooNative.Ok)
            {
                return;
            }

            var native = GlooNative.LastError();
            if (status == GlooNative.InvalidArgument)
            {
                throw new ArgumentException($"Gloo {operation} on rank {Rank}: {native}");
            }

            throw new CollectiveException(
                $"Gloo {operation} failed on rank {Rank} of {WorldSize} (bound to {BindHost}; rendezvous {_store.Endpoint}): {native}. " +
                "A peer exited or stopped answering within the timeout: check the other workers' logs (a preempted or failed worker takes the group down).");
        }
    }

    private static void CheckCpuContiguous(Tensor tensor, string operation)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.device_type != DeviceType.CPU)
        {
            throw new ArgumentException(
                $"Gloo {operation} takes CPU tensors; this one is on {tensor.device}. Use the {CollectiveBackends.Nccl} backend for CUDA tensors, or copy it to the CPU.",
                nameof(tensor));
        }

        if (!tensor.is_contiguous())
        {
            throw new ArgumentException($"Gloo {operation} takes contiguous tensors (it works on the memory in place): call contiguous() first and copy back.", nameof(tensor));
        }
    }

    private static string Because(Exception? failure) => failure is null ? "" : $" ({failure.Message})";

    /// <summary>
    /// Gloo's store calls, from native code on the connecting thread, into the rendezvous store. No exception may cross
    /// into native code: a failure is kept here and reported as a non-zero status.
    /// </summary>
    private sealed class StoreBridge(TcpRendezvousStore store, TimeSpan timeout)
    {
        public TcpRendezvousStore Store { get; } = store;

        public TimeSpan Timeout { get; } = timeout;

        public Exception? Failure { get; private set; }

        [UnmanagedCallersOnly]
        public static int Set(IntPtr user, byte* key, byte* value, nuint size) =>
            Guard(user, bridge => bridge.Store.Set(KeyOf(key), new ReadOnlySpan<byte>(value, checked((int)size))));

        [UnmanagedCallersOnly]
        public static int Get(IntPtr user, byte* key, void** value, nuint* size) => Guard(user, bridge =>
        {
            var bytes = bridge.Store.Get(KeyOf(key));
            // The shim frees it with free(): NativeMemory.Alloc is malloc.
            var copy = NativeMemory.Alloc((nuint)Math.Max(bytes.Length, 1));
            bytes.CopyTo(new Span<byte>(copy, bytes.Length));
            *value = copy;
            *size = (nuint)bytes.Length;
        });

        [UnmanagedCallersOnly]
        public static int Wait(IntPtr user, byte** keys, nuint count, long timeoutMs) => Guard(user, bridge =>
        {
            var names = new string[checked((int)count)];
            for (var i = 0; i < names.Length; i++)
            {
                names[i] = KeyOf(keys[i]);
            }

            bridge.Store.Wait(names, timeoutMs > 0 ? TimeSpan.FromMilliseconds(timeoutMs) : bridge.Timeout);
        });

        private static int Guard(IntPtr user, Action<StoreBridge> body)
        {
            var bridge = (StoreBridge)GCHandle.FromIntPtr(user).Target!;
            try
            {
                body(bridge);
                return 0;
            }
            catch (Exception e)
            {
                bridge.Failure ??= e;
                return 1;
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static string KeyOf(byte* key) => KeyPrefix + Encoding.UTF8.GetString(MemoryMarshal.CreateReadOnlySpanFromNullTerminated(key));
    }
}
