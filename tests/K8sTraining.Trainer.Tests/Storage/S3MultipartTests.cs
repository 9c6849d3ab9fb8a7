using System.Collections.Concurrent;
using System.Security.Cryptography;
using K8sTraining.Training.Checkpoints;
using K8sTraining.Training.Storage;

namespace K8sTraining.Trainer.Tests.Storage;

/// <summary>The parallel multipart upload against a real s3rver: every request presigned, none through Minio's private members.</summary>
[Trait("Category", "Integration")]
public sealed class S3MultipartTests(S3rverFixture fixture) : IClassFixture<S3rverFixture>, IDisposable
{
    private readonly string directory = LocalCheckpoints.TempDirectory();

    /// <summary>
    /// Records each request the presigned HttpClient sends (method and query names) and each answer's status; can
    /// answer part 2 with a 500 itself, as a failing server would.
    /// </summary>
    private sealed class RecordingHandler() : DelegatingHandler(new SocketsHttpHandler())
    {
        public ConcurrentQueue<string> Requests { get; } = new();

        public ConcurrentQueue<string> Answers { get; } = new();

        public bool FailSecondPart { get; init; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var query = (request.RequestUri?.Query.TrimStart('?') ?? "").Split('&', StringSplitOptions.RemoveEmptyEntries);
            var names = query.Select(p => p.Split('=')[0]).Where(n => !n.StartsWith("X-Amz-", StringComparison.Ordinal)).Order(StringComparer.Ordinal);
            var what = $"{request.Method} {string.Join('&', names)}".TrimEnd();
            Requests.Enqueue(what);
            var response = FailSecondPart && query.Contains("partNumber=2")
                ? new HttpResponseMessage(System.Net.HttpStatusCode.InternalServerError) { Content = new StringContent("<Error><Code>InternalError</Code></Error>") }
                : await base.SendAsync(request, cancellationToken);
            Answers.Enqueue($"{what} {(int)response.StatusCode}");
            return response;
        }
    }

    private (S3ObjectClient Client, RecordingHandler Handler) CreateClient(string prefix, bool failSecondPart = false)
    {
        var env = fixture.Server.Environment();
        var handler = new RecordingHandler { FailSecondPart = failSecondPart };
        var options = S3StoreOptions.FromEnvironment($"s3://{S3rverServer.Bucket}/{prefix}", 3, n => env.GetValueOrDefault(n));
        return (new S3ObjectClient(options, handler), handler);
    }

    [Theory]
    [InlineData("five parts, the last one short", (23 << 20) + 5, 5)]
    [InlineData("one part, at the threshold", 5 << 20, 1)]
    public async Task UploadFileAsync_Should_InitiateSendThePartsAndComplete_When_TheFileIsOverTheThreshold(string name, int size, int expectedParts)
    {
        _ = name;
        var prefix = "jobs/" + Guid.NewGuid().ToString("N")[..12];
        // Parts of CHECKPOINT_S3_PART_SIZE_MIB (5 MiB for the test server, the smallest S3 allows), in parallel.
        var bytes = LocalCheckpoints.RandomBytes(size, 11);
        var path = Path.Combine(directory, "model.bin");
        await File.WriteAllBytesAsync(path, bytes);
        var entry = new CheckpointFileEntry("model.bin", bytes.LongLength, Convert.ToHexStringLower(SHA256.HashData(bytes)));
        var (client, handler) = CreateClient(prefix);
        using (client)
        {
            var key = $"{prefix}/model.bin";
            await client.UploadFileAsync(key, path, entry, CancellationToken.None);

            var requests = handler.Requests.ToList();
            Assert.Equal("POST uploads", requests[0]);
            var parts = requests.Count(r => r == "PUT partNumber&uploadId");
            Assert.True(parts == expectedParts, string.Join(", ", handler.Answers));
            Assert.Equal("POST uploadId", requests[parts + 1]);

            var back = Path.Combine(directory, "back.bin");
            await client.DownloadFileAsync(key, back, entry, CancellationToken.None);
            Assert.Equal(bytes, await File.ReadAllBytesAsync(back));
            // The size and the SHA-256 the initiate request signed as user metadata are on the stored object.
            await client.VerifyStoredAsync(key, entry, CancellationToken.None);
        }
    }

    [Fact]
    public async Task UploadFileAsync_Should_AbortTheUploadAndStoreNothing_When_APartFails()
    {
        var prefix = "jobs/" + Guid.NewGuid().ToString("N")[..12];
        var bytes = LocalCheckpoints.RandomBytes((40 << 20) + 1, 12);
        var path = Path.Combine(directory, "model.bin");
        await File.WriteAllBytesAsync(path, bytes);
        var entry = new CheckpointFileEntry("model.bin", bytes.LongLength, Convert.ToHexStringLower(SHA256.HashData(bytes)));
        var (client, handler) = CreateClient(prefix, failSecondPart: true);
        using (client)
        {
            var key = $"{prefix}/model.bin";
            var error = await Assert.ThrowsAsync<S3RequestException>(() => client.UploadFileAsync(key, path, entry, CancellationToken.None));
            Assert.Equal("InternalError", error.Code);

            var answers = string.Join(", ", handler.Answers);
            Assert.DoesNotContain("POST uploadId", handler.Requests);
            // The upload is aborted (s3rver has no AbortMultipartUpload and answers 405; S3 answers 204).
            Assert.True(handler.Requests.Contains("DELETE uploadId"), answers);
            Assert.Single(handler.Answers, a => a.EndsWith(" 500", StringComparison.Ordinal));
            Assert.Empty(await client.ListKeysAsync(prefix + "/", CancellationToken.None));
        }
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);
}
