using TorchSharp;
using static TorchSharp.torch;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using K8sTraining.Training.Tasks;

namespace K8sTraining.Training.Loop;

/// <summary>One batch's samples (CHW floats, one after another) and labels, filled off the training thread.</summary>
public sealed class LoadedBatch(int capacity, int sampleSize)
{
    public float[] Inputs { get; } = new float[capacity * sampleSize];

    public long[] Labels { get; } = new long[capacity];

    /// <summary>The data set index of each sample (as filled), for tracing which samples an epoch saw.</summary>
    public int[] Indices { get; } = new int[capacity];

    /// <summary>How many samples this batch holds (the last of an epoch may hold fewer than its capacity).</summary>
    public int Count { get; internal set; }

    /// <summary>The step (batch number) within the pass it belongs to.</summary>
    public int Step { get; internal set; }

    /// <summary>
    /// The inputs [Count, ..sampleShape] and targets [Count] as tensors in torch's own memory, in the caller's dispose
    /// scope, copied straight from the buffers (no managed copy). Never torch.tensor(array): it shares the managed
    /// array's memory, whose address (mod 64) depends on what the process allocated before, and the CPU kernels (MKL,
    /// oneDNN) peel loops to alignment, so the sums, and the low bits of every gradient, would depend on it. Torch's
    /// 64-byte-aligned memory keeps a resumed run bit-for-bit on the uninterrupted run's path.
    /// </summary>
    public (Tensor Input, Tensor Target) ToTensors(IReadOnlyList<long> sampleShape)
    {
        ArgumentNullException.ThrowIfNull(sampleShape);
        var input = torch.empty([Count, .. sampleShape]);
        input.bytes = MemoryMarshal.AsBytes(Inputs.AsSpan(0, (int)input.numel()));
        var target = torch.empty([Count], ScalarType.Int64);
        target.bytes = MemoryMarshal.AsBytes(Labels.AsSpan(0, Count));
        return (input, target);
    }
}

/// <summary>
/// Fills the batches of one pass over a data set, in order: each batch's samples on up to <c>workers</c> threads, up
/// to <c>prefetch</c> batches ahead of the one the training thread takes. Sample <c>i</c> (the data set's index) of
/// epoch <c>e</c> is filled with <c>SampleContext(train, new SampleRandom(seed, e, i))</c>, so what a batch holds never
/// depends on thread timing. Disposing drops the batches prepared ahead.
/// </summary>
public sealed class BatchLoader : IDisposable
{
    private readonly ITrainingDataset _data;
    private readonly int[]? _order;
    private readonly int _count;
    private readonly int _batchSize;
    private readonly int _workers;
    private readonly bool _train;
    private readonly long _seed;
    private readonly int _epoch;
    private readonly int _sampleSize;
    private readonly Channel<LoadedBatch> _free;
    private readonly Channel<LoadedBatch> _ready;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _producer;
    private readonly int _offset;
    private int _nextStep;

    /// <param name="data">The data set to read.</param>
    /// <param name="order">The sample index of each position of the pass; null: 0, 1, 2, ... (evaluation).</param>
    /// <param name="batchSize">Samples per batch (the last may hold fewer).</param>
    /// <param name="firstStep">The first batch to produce (a resumed epoch starts mid-way).</param>
    /// <param name="epoch">The epoch, for each sample's generator.</param>
    /// <param name="seed">The run's seed, for each sample's generator.</param>
    /// <param name="train">Whether samples are filled for training (augmented) or evaluation.</param>
    /// <param name="workers">Threads that fill one batch's samples.</param>
    /// <param name="prefetch">Batches filled ahead of the one taken.</param>
    /// <param name="firstSample">
    /// The position in the pass the first batch starts at; null: <paramref name="firstStep"/> times the batch size. A pass
    /// resumed after a batch-size change starts mid-batch of the new cut: its batches are re-cut from there, numbered on
    /// from <paramref name="firstStep"/>.
    /// </param>
    public BatchLoader(ITrainingDataset data, int[]? order, int batchSize, int firstStep, int epoch, long seed, bool train, int workers, int prefetch, int? firstSample = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        ArgumentOutOfRangeException.ThrowIfNegative(firstStep);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(workers);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(prefetch);
        _data = data;
        _order = order;
        _count = order?.Length ?? data.Count;
        _batchSize = batchSize;
        _workers = workers;
        _train = train;
        _seed = seed;
        _epoch = epoch;
        _sampleSize = checked((int)data.SampleShape.Aggregate(1L, (a, b) => a * b));
        _nextStep = firstStep;
        var start = firstSample ?? checked(firstStep * batchSize);
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start, _count);
        _offset = start - (firstStep * batchSize);
        _free = Channel.CreateUnbounded<LoadedBatch>();
        _ready = Channel.CreateUnbounded<LoadedBatch>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var buffers = Math.Min(prefetch + 1, Math.Max(Steps - firstStep, 1));
        for (var i = 0; i < buffers; i++)
        {
            _free.Writer.TryWrite(new LoadedBatch(Math.Min(batchSize, Math.Max(_count, 1)), _sampleSize));
        }
        _producer = Task.Factory.StartNew(() => Produce(firstStep, _stop.Token), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Batches in the pass; the last may be smaller.</summary>
    public int Steps => (_count - _offset + _batchSize - 1) / _batchSize;

    /// <summary>The floats of one sample (the product of the data set's SampleShape).</summary>
    public int SampleSize => _sampleSize;

    /// <summary>
    /// The next batch, in order; waits while it is being filled. Give it back with <see cref="Return"/> once no tensor
    /// made from its buffers is alive. Rethrows a data set's error (the lowest position's, when several samples fail).
    /// </summary>
    public LoadedBatch Next()
    {
        if (_nextStep >= Steps)
        {
            throw new InvalidOperationException($"The pass has {Steps} batches; all were taken.");
        }
        LoadedBatch batch;
        try
        {
            while (!_ready.Reader.TryRead(out batch!))
            {
                if (!_ready.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
                {
                    throw new ObjectDisposedException(nameof(BatchLoader), "The loader was stopped before the pass ended.");
                }
            }
        }
        catch (ChannelClosedException e) when (e.InnerException is not null)
        {
            ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
        if (batch.Step != _nextStep)
        {
            throw new InvalidOperationException($"Batch {batch.Step} arrived where {_nextStep} was due.");
        }
        _nextStep++;
        return batch;
    }

    /// <summary>Hands a batch's buffers back for a later batch.</summary>
    public void Return(LoadedBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        _free.Writer.TryWrite(batch);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _free.Writer.TryComplete();
        try
        {
            _producer.Wait();
        }
        catch (AggregateException)
        {
            // The producer's error, if any, was delivered through Next already or no longer matters.
        }
        _stop.Dispose();
    }

    private void Produce(int firstStep, CancellationToken stop)
    {
        try
        {
            for (var step = firstStep; step < Steps; step++)
            {
                LoadedBatch batch;
                while (!_free.Reader.TryRead(out batch!))
                {
                    if (!_free.Reader.WaitToReadAsync(stop).AsTask().GetAwaiter().GetResult())
                    {
                        return;
                    }
                }
                Fill(batch, step, stop);
                _ready.Writer.TryWrite(batch);
            }
            _ready.Writer.TryComplete();
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            _ready.Writer.TryComplete();
        }
        catch (Exception e)
        {
            _ready.Writer.TryComplete(e);
        }
    }

    private void Fill(LoadedBatch batch, int step, CancellationToken stop)
    {
        var start = _offset + (step * _batchSize);
        var n = Math.Min(_batchSize, _count - start);
        batch.Step = step;
        batch.Count = n;
        if (_workers == 1 || n == 1)
        {
            for (var k = 0; k < n; k++)
            {
                FillOne(batch, start, k);
            }
            return;
        }
        var errors = new Exception?[n];
        Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = _workers, CancellationToken = stop }, k =>
        {
            try
            {
                FillOne(batch, start, k);
            }
            catch (Exception e)
            {
                errors[k] = e;
            }
        });
        // The first failing position's error, whichever thread met its error first.
        if (Array.Find(errors, e => e is not null) is { } first)
        {
            ExceptionDispatchInfo.Throw(first);
        }
    }

    private void FillOne(LoadedBatch batch, int start, int k)
    {
        var index = _order is null ? start + k : _order[start + k];
        batch.Indices[k] = index;
        batch.Labels[k] = _data.LabelOf(index);
        _data.Fill(index, batch.Inputs.AsSpan(k * _sampleSize, _sampleSize), new SampleContext(_train, new SampleRandom(_seed, _epoch, index)));
    }
}
