using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;
using K8sTraining.TestSupport;
using K8sTraining.Training.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Minio;
using Minio.DataModel.Args;

namespace K8sTraining.Benchmarks;

/// <summary>
/// Checkpoint storage against s3rver on loopback: the store's parallel multipart upload and parallel ranged download
/// versus a plain single PUT and GET of the same bytes, and seconds from "SIGTERM" (checkpoint write starts) to the
/// committed manifest for synthetic checkpoints of about 10 MB, 100 MB and 1 GB.
/// </summary>
public sealed class StorageBenchmarks : IBenchmarkSuite
{
    private const string Bucket = "k8straining";

    public string Name => "storage";

    public async Task RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        Directory.CreateDirectory(context.ScratchDirectory);
        var sizesMb = (Environment.GetEnvironmentVariable("BENCH_STORAGE_SIZES_MB") ?? "10,100,1000")
            .Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        var throughputMb = int.Parse(Environment.GetEnvironmentVariable("BENCH_STORAGE_THROUGHPUT_MB") ?? "256", CultureInfo.InvariantCulture);
        await using var server = await S3rverServer.StartAsync(Path.Combine(context.ScratchDirectory, "s3rver"), cancellationToken).ConfigureAwait(false);
        var env = new Dictionary<string, string>
        {
            ["AWS_ACCESS_KEY_ID"] = "S3RVER",
            ["AWS_SECRET_ACCESS_KEY"] = "S3RVER",
            ["AWS_REGION"] = "us-east-1",
            ["AWS_ENDPOINT_URL"] = server.EndpointUrl,
        };
        var options = S3StoreOptions.FromEnvironment($"s3://{Bucket}/bench", 2, n => env.GetValueOrDefault(n));
        Console.WriteLine($"s3rver 3.7.1 on {server.EndpointUrl}; part size {options.PartSize >> 20} MiB, {options.Parallelism} parallel; {Environment.ProcessorCount} cores; synthetic random data");
        Console.WriteLine();

        try
        {
            await ThroughputAsync(context, options, server, throughputMb, cancellationToken).ConfigureAwait(false);
            Console.WriteLine();
            await SigtermToCommitAsync(context, env, sizesMb, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // Gigabytes of objects and scratch files: keep only the printed figures.
            await server.DisposeAsync().ConfigureAwait(false);
            Directory.Delete(context.ScratchDirectory, recursive: true);
        }
    }

    private static async Task ThroughputAsync(BenchmarkContext context, S3StoreOptions options, S3rverServer server, int sizeMb, CancellationToken cancellationToken)
    {
        var file = Path.Combine(context.ScratchDirectory, "throughput.bin");
        var entry = WriteRandomFile(file, (long)sizeMb << 20);
        var mb = entry.Size / 1e6;
        using var objects = new S3ObjectClient(options);
        using var minio = new MinioClient().WithEndpoint(options.Endpoint).WithSSL(false).WithCredentials("S3RVER", "S3RVER").WithRegion("us-east-1").Build();
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(10) };

        // Warm-up (JIT, connections) so the first measured path is not penalised; then the median of three runs each.
        var warm = Path.Combine(context.ScratchDirectory, "warm.bin");
        var warmEntry = WriteRandomFile(warm, 12 << 20);
        await objects.UploadFileAsync("bench/tp/warm.bin", warm, warmEntry, cancellationToken).ConfigureAwait(false);
        await objects.DownloadFileAsync("bench/tp/warm.bin", warm + ".down", warmEntry, cancellationToken).ConfigureAwait(false);
        await objects.PutFilePlainAsync("bench/tp/warm2.bin", warm, cancellationToken).ConfigureAwait(false);
        await objects.GetFilePlainAsync("bench/tp/warm2.bin", warm + ".down2", cancellationToken).ConfigureAwait(false);

        // Upload: the store (parallel parts, verified) vs one HTTP PUT of the whole file vs Minio's public PutObjectAsync.
        var store = await MedianAsync(() => objects.UploadFileAsync("bench/tp/store.bin", file, entry, cancellationToken)).ConfigureAwait(false);
        var singlePut = await MedianAsync(async () =>
        {
            var url = await minio.PresignedPutObjectAsync(new PresignedPutObjectArgs().WithBucket(Bucket).WithObject("bench/tp/single.bin").WithExpiry(3600)).ConfigureAwait(false);
            await using var stream = File.OpenRead(file);
            using var content = new StreamContent(stream, 1 << 20);
            content.Headers.ContentLength = entry.Size;
            using var response = await http.PutAsync(new Uri(url), content, cancellationToken).ConfigureAwait(false);
            response.EnsureSuccessStatusCode();
        }).ConfigureAwait(false);
        using var sequentialObjects = new S3ObjectClient(options with { Parallelism = 1 });
        var sequentialParts = await MedianAsync(() => sequentialObjects.UploadFileAsync("bench/tp/sequential.bin", file, entry, cancellationToken)).ConfigureAwait(false);
        var minioPut = await MedianAsync(() => objects.PutFilePlainAsync("bench/tp/minio.bin", file, cancellationToken)).ConfigureAwait(false);

        // Download: the store (parallel ranged GETs, SHA-256 checked) vs one GET through Minio.
        var target = Path.Combine(context.ScratchDirectory, "download.bin");
        var storeGet = await MedianAsync(() => objects.DownloadFileAsync("bench/tp/store.bin", target, entry, cancellationToken)).ConfigureAwait(false);
        File.Delete(target);
        var singleGet = await MedianAsync(() => objects.GetFilePlainAsync("bench/tp/store.bin", target, cancellationToken)).ConfigureAwait(false);
        File.Delete(target);
        File.Delete(file);

        Console.WriteLine($"| {sizeMb} MiB object | seconds | MB/s | store / plain |");
        Console.WriteLine("|---|---|---|---|");
        Row("upload: store (parallel multipart + verify)", store, mb, singlePut);
        Row("upload: plain single PUT (one HTTP request)", singlePut, mb, singlePut);
        Row("upload: store, one part at a time (same protocol)", sequentialParts, mb, singlePut);
        Row("upload: Minio PutObjectAsync (sequential parts)", minioPut, mb, singlePut);
        Row("download: store (parallel ranged GETs + sha256)", storeGet, mb, singleGet);
        Row("download: plain single GET (Minio GetObjectAsync)", singleGet, mb, singleGet);
        Console.WriteLine($"ratio upload store/single PUT = {singlePut / store:0.00}x throughput; store parallel/one part at a time = {sequentialParts / store:0.00}x; store/Minio PutObjectAsync = {minioPut / store:0.00}x; download store/single GET = {singleGet / storeGet:0.00}x throughput");

        static void Row(string what, double seconds, double mb, double baseline) =>
            Console.WriteLine($"| {what} | {seconds:0.000} | {mb / seconds:0.0} | {baseline / seconds:0.00}x |");
    }

    private static async Task SigtermToCommitAsync(BenchmarkContext context, Dictionary<string, string> env, int[] sizesMb, CancellationToken cancellationToken)
    {
        Console.WriteLine("| checkpoint | local write+fsync+sha256 s | upload+verify+commit s | SIGTERM -> committed manifest s |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var sizeMb in sizesMb)
        {
            var root = Path.Combine(context.ScratchDirectory, $"checkpoints-{sizeMb}");
            Directory.CreateDirectory(root);
            await using var store = RemoteCheckpointStoreFactory.Create($"s3://{Bucket}/bench/sigterm-{sizeMb}", 2, n => env.GetValueOrDefault(n), NullLoggerFactory.Instance);
            await store.ValidateAsync(cancellationToken).ConfigureAwait(false);

            // "SIGTERM" here: the trainer finishes its step and writes the checkpoint (model 90%, optimizer 10%).
            var sigterm = Stopwatch.StartNew();
            var dir = Path.Combine(root, CheckpointLayout.DirectoryName(sizeMb));
            Directory.CreateDirectory(dir);
            var total = (long)sizeMb * 1_000_000;
            var files = new[]
            {
                WriteRandomFile(Path.Combine(dir, "model.bin"), total * 9 / 10),
                WriteRandomFile(Path.Combine(dir, "optimizer.bin"), total - (total * 9 / 10)),
            };
            var manifest = new { formatVersion = 1, globalStep = sizeMb, epoch = 0, stepInEpoch = sizeMb, createdAt = DateTimeOffset.UtcNow.ToString("O"), files = files.Select(f => new { name = f.Name, size = f.Size, sha256 = f.Sha256 }) };
            await File.WriteAllTextAsync(Path.Combine(dir, CheckpointLayout.ManifestFileName), JsonSerializer.Serialize(manifest), cancellationToken).ConfigureAwait(false);
            var written = sigterm.Elapsed.TotalSeconds;
            store.Enqueue(dir);
            var result = await store.FlushAsync(TimeSpan.FromMinutes(10), cancellationToken).ConfigureAwait(false);
            var committed = sigterm.Elapsed.TotalSeconds;
            if (!result.AllCommitted)
            {
                throw new InvalidOperationException($"{sizeMb} MB checkpoint not committed.");
            }
            Console.WriteLine($"| {sizeMb} MB | {written:0.000} | {committed - written:0.000} | {committed:0.000} |");
            Directory.Delete(root, recursive: true);
        }
        Console.WriteLine("(synthetic checkpoint files through the store, as the trainer's SIGTERM path does: write locally, Enqueue, FlushAsync)");
    }

    private static CheckpointFileEntry WriteRandomFile(string path, long size)
    {
        var buffer = new byte[4 << 20];
        var random = new Random(1234);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using (var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            for (long written = 0; written < size; written += buffer.Length)
            {
                var n = (int)Math.Min(buffer.Length, size - written);
                random.NextBytes(buffer.AsSpan(0, n));
                stream.Write(buffer, 0, n);
                sha.AppendData(buffer, 0, n);
            }
            stream.Flush(flushToDisk: true);
        }
        return new CheckpointFileEntry(Path.GetFileName(path), size, Convert.ToHexStringLower(sha.GetHashAndReset()));
    }

    private static async Task<double> MedianAsync(Func<Task> action)
    {
        var times = new List<double>();
        for (var i = 0; i < 3; i++)
        {
            times.Add(await TimeAsync(action).ConfigureAwait(false));
        }
        return times.Order().ElementAt(1);
    }

    private static async Task<double> TimeAsync(Func<Task> action)
    {
        var stopwatch = Stopwatch.StartNew();
        await action().ConfigureAwait(false);
        return stopwatch.Elapsed.TotalSeconds;
    }
}
