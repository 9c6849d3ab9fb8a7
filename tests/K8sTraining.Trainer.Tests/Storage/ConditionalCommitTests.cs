using System.Security.Cryptography;
using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;
using K8sTraining.Training.Storage;
using Microsoft.Extensions.Logging;

namespace K8sTraining.Trainer.Tests.Storage;

/// <summary>
/// The commit of latest.json against a store that enforces conditional writes as AWS S3 does (s3rver ignores them):
/// another writer between the read and the write gets a 412, and the commit reads and decides again.
/// </summary>
[Trait("Category", "Unit")]
public sealed class ConditionalCommitTests : IDisposable
{
    private const string Uri = "s3://bucket/job";
    private readonly List<string> temporary = [];

    [Fact]
    public async Task Commit_Should_ReadAgainAndKeepTheOtherWritersCheckpoint_When_AnOlderAttemptChangedLatestJsonBetweenReadAndWrite()
    {
        var storage = new ConditionalObjectStorage();
        storage.BeforeConditionalPut = key => storage.PutDirect(key, Pointer("step-000000000040", attempt: 1));
        var (store, logs) = Create(storage, attempt: 2);
        await using (store)
        {
            store.Enqueue(LocalCheckpoints.Write(Temp(), 50, LocalCheckpoints.SmallCheckpoint(50)));
            var result = await store.FlushAsync(TimeSpan.FromSeconds(30), CancellationToken.None);

            Assert.True(result.AllCommitted, logs.AllText);
            Assert.Null(store.Superseded);
        }
        Assert.Equal(1, storage.PreconditionFailures);
        var latest = RemoteCheckpointDocuments.ParseLatest(storage.Objects[$"job/{CheckpointLayout.LatestFileName}"]);
        Assert.Equal(new[] { "step-000000000050", "step-000000000040" }, latest.Retained);
        Assert.Equal(2, latest.Attempt);
        Assert.Contains(logs.Entries, e => e.Message.Contains("refused the conditional write", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Commit_Should_RefuseAndStopUploading_When_ANewerAttemptCommittedBetweenReadAndWrite()
    {
        var storage = new ConditionalObjectStorage();
        var newer = Pointer("step-000000000075", attempt: 3);
        storage.BeforeConditionalPut = key => storage.PutDirect(key, newer);
        var (store, logs) = Create(storage, attempt: 2);
        await using (store)
        {
            store.Enqueue(LocalCheckpoints.Write(Temp(), 50, LocalCheckpoints.SmallCheckpoint(50)));
            var result = await store.FlushAsync(TimeSpan.FromSeconds(30), CancellationToken.None);

            Assert.False(result.AllCommitted);
            Assert.Null(result.NewestCommittedGlobalStep);
            var superseded = Assert.IsType<SupersededException>(store.Superseded);
            Assert.Equal((2, 3), (superseded.Attempt, superseded.NewerAttempt));
            Assert.Contains($"Attempt 2 is superseded by attempt 3 at {Uri}", superseded.Message, StringComparison.Ordinal);
            Assert.Contains("refusing to commit step-000000000050", superseded.Message, StringComparison.Ordinal);

            // Stopped for good: a later checkpoint is not even uploaded.
            var writes = storage.Writes;
            store.Enqueue(LocalCheckpoints.Write(Temp(), 60, LocalCheckpoints.SmallCheckpoint(60)));
            Assert.False((await store.FlushAsync(TimeSpan.FromSeconds(5), CancellationToken.None)).AllCommitted);
            Assert.Equal(writes, storage.Writes);
        }
        Assert.Equal(1, storage.PreconditionFailures);
        Assert.Equal(newer, storage.Objects[$"job/{CheckpointLayout.LatestFileName}"]);
        Assert.Single(logs.Entries, e => e.Message.StartsWith("Superseded:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Commit_Should_CreateLatestJsonOnlyIfAbsentThenReplaceOnlyWhatItRead_When_CommittingTwice()
    {
        var storage = new ConditionalObjectStorage();
        var (store, logs) = Create(storage, attempt: 1);
        byte[] first;
        await using (store)
        {
            store.Enqueue(LocalCheckpoints.Write(Temp(), 25, LocalCheckpoints.SmallCheckpoint(25)));
            Assert.True((await store.FlushAsync(TimeSpan.FromSeconds(30), CancellationToken.None)).AllCommitted, logs.AllText);
            first = storage.Objects[$"job/{CheckpointLayout.LatestFileName}"];
            store.Enqueue(LocalCheckpoints.Write(Temp(), 50, LocalCheckpoints.SmallCheckpoint(50)));
            Assert.True((await store.FlushAsync(TimeSpan.FromSeconds(30), CancellationToken.None)).AllCommitted, logs.AllText);
        }
        Assert.Equal(["If-None-Match: *", $"If-Match: \"{Convert.ToHexStringLower(MD5.HashData(first))}\""], storage.Conditions);
        Assert.Equal(0, storage.PreconditionFailures);
    }

    public void Dispose()
    {
        foreach (var dir in temporary)
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static byte[] Pointer(string checkpoint, int attempt) =>
        RemoteCheckpointDocuments.SerializeLatest(new LatestPointer(checkpoint, CheckpointLayout.TryParseDirectoryName(checkpoint, out var s) ? s : 0, [checkpoint], attempt));

    private static (S3CheckpointStore Store, ListLoggerProvider Logs) Create(ConditionalObjectStorage storage, int attempt)
    {
        var env = new Dictionary<string, string?>
        {
            ["AWS_ACCESS_KEY_ID"] = "key",
            ["AWS_SECRET_ACCESS_KEY"] = "secret",
            ["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9",
            ["CHECKPOINT_S3_RETRY_MAX_SECONDS"] = "0.2",
            [TrainerEnvironment.Attempt] = $"{attempt}",
        };
        var options = S3StoreOptions.FromEnvironment(Uri, 3, n => env.GetValueOrDefault(n));
        var logs = new ListLoggerProvider();
        var factory = LoggerFactory.Create(b => b.AddProvider(logs));
        return (new S3CheckpointStore(options, storage, factory.CreateLogger<S3CheckpointStore>()), logs);
    }

    private string Temp()
    {
        var dir = LocalCheckpoints.TempDirectory();
        temporary.Add(dir);
        return dir;
    }
}

/// <summary>
/// An in-memory object store that enforces If-Match / If-None-Match: * on writes as AWS S3 does (ETag = MD5), with a
/// hook that lets a test play the other writer between a commit's read and its write.
/// </summary>
internal sealed class ConditionalObjectStorage : IObjectStorage
{
    private readonly Lock gate = new();

    public Dictionary<string, byte[]> Objects { get; } = new(StringComparer.Ordinal);

    public List<string> Conditions { get; } = [];

    public int PreconditionFailures { get; private set; }

    public int Writes { get; private set; }

    /// <summary>Runs once, before the first conditional write is evaluated.</summary>
    public Action<string>? BeforeConditionalPut { get; set; }

    public void PutDirect(string key, byte[] bytes)
    {
        lock (gate)
        {
            Objects[key] = bytes;
        }
    }

    public Task<byte[]?> GetBytesAsync(string key, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            return Task.FromResult(Objects.TryGetValue(key, out var bytes) ? bytes : null);
        }
    }

    public Task<(byte[]? Bytes, string? ETag)> GetWithETagAsync(string key, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            return Task.FromResult(Objects.TryGetValue(key, out var bytes) ? (bytes, ETag(bytes)) : ((byte[]?)null, (string?)null));
        }
    }

    public Task PutBytesAsync(string key, byte[] bytes, CancellationToken cancellationToken)
    {
        Write(key, bytes);
        return Task.CompletedTask;
    }

    public Task<bool> PutBytesConditionalAsync(string key, byte[] bytes, string? ifMatch, CancellationToken cancellationToken)
    {
        var hook = BeforeConditionalPut;
        BeforeConditionalPut = null;
        hook?.Invoke(key);
        lock (gate)
        {
            Conditions.Add(ifMatch is null ? "If-None-Match: *" : $"If-Match: {ifMatch}");
            var exists = Objects.TryGetValue(key, out var current);
            if (ifMatch is null ? exists : !exists || (ifMatch != "*" && ifMatch != ETag(current!)))
            {
                PreconditionFailures++;
                return Task.FromResult(false);
            }
        }
        Write(key, bytes);
        return Task.FromResult(true);
    }

    public Task<IReadOnlyList<string>> ListKeysAsync(string keyPrefix, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            return Task.FromResult<IReadOnlyList<string>>([.. Objects.Keys.Where(k => k.StartsWith(keyPrefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal)]);
        }
    }

    public async Task UploadFileAsync(string key, string path, CheckpointFileEntry expected, CancellationToken cancellationToken) =>
        Write(key, await File.ReadAllBytesAsync(path, cancellationToken));

    public async Task DownloadFileAsync(string key, string path, CheckpointFileEntry expected, CancellationToken cancellationToken)
    {
        var bytes = await GetBytesAsync(key, cancellationToken) ?? throw new InvalidDataException($"{key} is missing.");
        await File.WriteAllBytesAsync(path, bytes, cancellationToken);
    }

    public Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            Objects.Remove(key);
        }
        return Task.CompletedTask;
    }

    public void Dispose()
    {
    }

    private void Write(string key, byte[] bytes)
    {
        lock (gate)
        {
            Objects[key] = bytes;
            Writes++;
        }
    }

    private static string ETag(byte[] bytes) => $"\"{Convert.ToHexStringLower(MD5.HashData(bytes))}\"";
}
