using System.Buffers;
using System.Net;
using System.Security.Cryptography;
using Minio;
using Minio.DataModel.Args;
using System.Xml.Linq;
using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;
using Minio.Exceptions;

namespace K8sTraining.Training.Storage;

/// <summary>What the store needs from S3, each call one or a few requests: small objects, verified file uploads, ranged downloads.</summary>
/// <remarks>
/// Ranged GETs go through presigned URLs and a plain HttpClient: Minio 7.0.0 treats the 206 Partial Content answer to
/// a ranged GetObject as an error (PartialContentException). Multipart uploads (initiate, parallel parts, complete,
/// abort) are presigned requests too (<see cref="S3Multipart"/>): Minio 7 keeps those calls private. The presigned URL
/// is computed locally and carries no secret (only a signature), and it never appears in logs or messages.
/// </remarks>
public sealed class S3ObjectClient : IObjectStorage
{
    /// <summary>User metadata holding the file's SHA-256, so a stat shows what the uploader meant to store.</summary>
    public const string Sha256MetadataKey = "x-amz-meta-sha256";

    /// <summary>User metadata holding the attempt that uploaded the object (the fencing token), when there is one.</summary>
    public const string AttemptMetadataKey = "x-amz-meta-" + CheckpointLayout.AttemptMetadataName;

    private readonly S3StoreOptions options;
    private readonly IMinioClient client;
    private readonly HttpClient http;
    private readonly SigV4Presigner presigner;
    private readonly S3Multipart multipart;

    public S3ObjectClient(S3StoreOptions options)
        : this(options, null)
    {
    }

    /// <summary>With the handler the presigned requests go through (a test that watches them), or the default one.</summary>
    internal S3ObjectClient(S3StoreOptions options, HttpMessageHandler? handler)
    {
        this.options = options;
        var builder = new MinioClient()
            .WithEndpoint(options.Endpoint)
            .WithSSL(options.UseTls)
            .WithRegion(options.Region)
            .WithTimeout((int)options.RequestTimeout.TotalMilliseconds);
        builder = options.SessionToken is null
            ? builder.WithCredentials(options.AccessKey, options.SecretKey)
            : builder.WithCredentials(options.AccessKey, options.SecretKey).WithSessionToken(options.SessionToken);
        client = builder.Build();
        http = new HttpClient(handler ?? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = options.RequestTimeout };
        presigner = new SigV4Presigner(options.AccessKey, options.SecretKey, options.Region, options.SessionToken);
        multipart = new S3Multipart(http, Presign);
    }

    /// <summary>User metadata for an upload: its SHA-256 and, for a fenced trainer, the attempt.</summary>
    private Dictionary<string, string> Metadata(string sha256)
    {
        var metadata = new Dictionary<string, string> { [Sha256MetadataKey] = sha256 };
        if (options.Attempt is { } attempt)
        {
            metadata[AttemptMetadataKey] = attempt.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return metadata;
    }

    /// <summary>A presigned URL for one request on <paramref name="key"/>: path-style for AWS_ENDPOINT_URL, virtual-hosted on AWS.</summary>
    private Uri Presign(string method, string key, IReadOnlyDictionary<string, string> query, IReadOnlyDictionary<string, string>? signedHeaders = null)
    {
        var bucket = options.Location.Bucket;
        var virtualHosted = !options.PathStyle && !bucket.Contains('.', StringComparison.Ordinal);
        var host = virtualHosted ? $"{bucket}.{options.Endpoint}" : options.Endpoint;
        var path = virtualHosted ? "/" + key : $"/{bucket}/{key}";
        return presigner.Presign(method, options.UseTls ? "https" : "http", host, path, query, DateTime.UtcNow, TimeSpan.FromHours(1), signedHeaders);
    }

    internal static async Task<Exception> ErrorAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        var code = System.Text.RegularExpressions.Regex.Match(body, "<Code>([^<]*)</Code>").Groups[1].Value;
        return new S3RequestException(code, response.StatusCode, $"{what} answered {(int)response.StatusCode} {code}".TrimEnd());
    }

    public S3CheckpointLocation Location => options.Location;

    /// <summary>Reads a small object whole; null when it does not exist.</summary>
    public async Task<byte[]?> GetBytesAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            using var buffer = new MemoryStream();
            await client.GetObjectAsync(
                new GetObjectArgs().WithBucket(options.Location.Bucket).WithObject(key)
                    .WithCallbackStream(async (stream, ct) => await stream.CopyToAsync(buffer, ct).ConfigureAwait(false)),
                cancellationToken).ConfigureAwait(false);
            return buffer.ToArray();
        }
        catch (ObjectNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Writes a small object in one PUT and checks the server stored exactly these bytes (ETag = MD5).</summary>
    public async Task PutBytesAsync(string key, byte[] bytes, CancellationToken cancellationToken)
    {
        using var stream = new MemoryStream(bytes, writable: false);
        var response = await client.PutObjectAsync(
            new PutObjectArgs().WithBucket(options.Location.Bucket).WithObject(key)
                .WithStreamData(stream).WithObjectSize(bytes.Length)
                .WithContentType("application/json")
                .WithHeaders(Metadata(Convert.ToHexStringLower(SHA256.HashData(bytes)))),
            cancellationToken).ConfigureAwait(false);
        await VerifyPutAsync(key, response.Etag, bytes, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads a small object whole with its ETag; (null, null) when it does not exist.</summary>
    public async Task<(byte[]? Bytes, string? ETag)> GetWithETagAsync(string key, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Presign("GET", key, new Dictionary<string, string>()));
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return (null, null);
        }
        if (!response.IsSuccessStatusCode)
        {
            throw await ErrorAsync(response, $"GET {key}", cancellationToken).ConfigureAwait(false);
        }
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        return (bytes, response.Headers.ETag?.ToString() ?? (response.Headers.TryGetValues("ETag", out var values) ? values.FirstOrDefault() : null));
    }

    /// <summary>
    /// Writes a small object only if it is unchanged since it was read: <c>If-Match: ETag</c>, or
    /// <c>If-None-Match: *</c> when <paramref name="ifMatch"/> is null (it did not exist). False when the store refused
    /// (412 PreconditionFailed, or 409 ConditionalRequestConflict for a concurrent write): read again and decide again.
    /// A store that ignores the headers (s3rver, older S3-compatible servers) just writes; the caller re-reads to find out.
    /// </summary>
    public async Task<bool> PutBytesConditionalAsync(string key, byte[] bytes, string? ifMatch, CancellationToken cancellationToken)
    {
        var metadata = Metadata(Convert.ToHexStringLower(SHA256.HashData(bytes)));
        using var request = new HttpRequestMessage(HttpMethod.Put, Presign("PUT", key, new Dictionary<string, string>(), metadata))
        {
            Content = new ByteArrayContent(bytes),
        };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        foreach (var (name, value) in metadata)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        if (ifMatch is null)
        {
            request.Headers.TryAddWithoutValidation("If-None-Match", "*");
        }
        else
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.Conflict)
        {
            return false;
        }
        if (!response.IsSuccessStatusCode)
        {
            throw await ErrorAsync(response, $"PUT {key}", cancellationToken).ConfigureAwait(false);
        }
        var etag = response.Headers.ETag?.ToString() ?? (response.Headers.TryGetValues("ETag", out var values) ? values.FirstOrDefault() : null);
        await VerifyPutAsync(key, etag, bytes, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>The keys under <paramref name="keyPrefix"/> (ListObjects, every page).</summary>
    public async Task<IReadOnlyList<string>> ListKeysAsync(string keyPrefix, CancellationToken cancellationToken)
    {
        var keys = new List<string>();
        string? marker = null;
        while (true)
        {
            var query = new Dictionary<string, string> { ["prefix"] = keyPrefix };
            if (marker is not null)
            {
                query["marker"] = marker;
            }
            using var request = new HttpRequestMessage(HttpMethod.Get, Presign("GET", "", query));
            using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw await ErrorAsync(response, $"LIST {keyPrefix}", cancellationToken).ConfigureAwait(false);
            }
            var document = XDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
            var page = document.Descendants().Where(e => e.Name.LocalName == "Contents")
                .Select(c => c.Elements().FirstOrDefault(e => e.Name.LocalName == "Key")?.Value)
                .OfType<string>().ToList();
            keys.AddRange(page);
            var truncated = document.Descendants().FirstOrDefault(e => e.Name.LocalName == "IsTruncated")?.Value == "true";
            if (!truncated || page.Count == 0)
            {
                return keys;
            }
            marker = document.Descendants().FirstOrDefault(e => e.Name.LocalName == "NextMarker")?.Value ?? page[^1];
        }
    }

    /// <summary>A plain single PUT of a file through Minio's public API (for comparison in the benchmark).</summary>
    public async Task PutFilePlainAsync(string key, string path, CancellationToken cancellationToken)
    {
        await using var stream = File.OpenRead(path);
        _ = await client.PutObjectAsync(
            new PutObjectArgs().WithBucket(options.Location.Bucket).WithObject(key).WithStreamData(stream).WithObjectSize(stream.Length),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A plain single GET of a whole object into a file (for comparison in the benchmark).</summary>
    public async Task GetFilePlainAsync(string key, string path, CancellationToken cancellationToken)
    {
        await using var file = File.Create(path);
        await client.GetObjectAsync(
            new GetObjectArgs().WithBucket(options.Location.Bucket).WithObject(key)
                .WithCallbackStream(async (stream, ct) => await stream.CopyToAsync(file, ct).ConfigureAwait(false)),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Uploads a file and verifies it: every request's ETag must equal the MD5 of the bytes sent (the server computes
    /// it over what it received, so no read-back is needed), then a stat must show the expected size and SHA-256.
    /// Files of at least <see cref="S3StoreOptions.MultipartThreshold"/> go up as parallel multipart parts.
    /// </summary>
    public async Task UploadFileAsync(string key, string path, CheckpointFileEntry expected, CancellationToken cancellationToken)
    {
        var length = new FileInfo(path).Length;
        if (length != expected.Size)
        {
            throw new LocalCheckpointDamagedException($"{path} has {length} bytes, its manifest says {expected.Size}: the local checkpoint is damaged.");
        }
        var metadata = Metadata(expected.Sha256);
        if (length < options.MultipartThreshold)
        {
            var bytes = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
            if (Convert.ToHexStringLower(SHA256.HashData(bytes)) != expected.Sha256)
            {
                throw new LocalCheckpointDamagedException($"{path} does not match the SHA-256 in its manifest: the local checkpoint is damaged.");
            }
            using var stream = new MemoryStream(bytes, writable: false);
            var response = await client.PutObjectAsync(
                new PutObjectArgs().WithBucket(options.Location.Bucket).WithObject(key)
                    .WithStreamData(stream).WithObjectSize(bytes.Length).WithHeaders(metadata),
                cancellationToken).ConfigureAwait(false);
            await VerifyPutAsync(key, response.Etag, bytes, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await UploadMultipartAsync(key, path, length, metadata, cancellationToken).ConfigureAwait(false);
        }
        await VerifyStoredAsync(key, expected, cancellationToken).ConfigureAwait(false);
    }

    private async Task UploadMultipartAsync(string key, string path, long length, Dictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        var partSize = Math.Max(options.PartSize, (length + 9_999) / 10_000);
        var partCount = (int)((length + partSize - 1) / partSize);
        var uploadId = await multipart.InitiateAsync(key, metadata, cancellationToken).ConfigureAwait(false);
        var etags = new string[partCount];
        var partMd5s = new byte[partCount][];
        try
        {
            using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous);
            await Parallel.ForEachAsync(
                Enumerable.Range(0, partCount),
                new ParallelOptions { MaxDegreeOfParallelism = options.Parallelism, CancellationToken = cancellationToken },
                async (index, ct) =>
                {
                    var offset = index * partSize;
                    var size = (int)Math.Min(partSize, length - offset);
                    var buffer = ArrayPool<byte>.Shared.Rent(size);
                    try
                    {
                        var read = 0;
                        while (read < size)
                        {
                            var n = await RandomAccess.ReadAsync(file, buffer.AsMemory(read, size - read), offset + read, ct).ConfigureAwait(false);
                            if (n == 0)
                            {
                                throw new LocalCheckpointDamagedException($"{path} became shorter while it was uploaded.");
                            }
                            read += n;
                        }
                        var md5 = MD5.HashData(buffer.AsSpan(0, size));
                        var url = Presign("PUT", key, new Dictionary<string, string>
                        {
                            ["partNumber"] = (index + 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
                            ["uploadId"] = uploadId,
                        });
                        using var request = new HttpRequestMessage(HttpMethod.Put, url) { Content = new ReadOnlyMemoryContent(buffer.AsMemory(0, size)) };
                        using var response = await http.SendAsync(request, ct).ConfigureAwait(false);
                        if (!response.IsSuccessStatusCode)
                        {
                            throw await ErrorAsync(response, $"PUT {key} part {index + 1}", ct).ConfigureAwait(false);
                        }
                        var etag = (response.Headers.TryGetValues("ETag", out var etagValues) ? etagValues.FirstOrDefault() : null) ?? throw new InvalidDataException($"The server returned no ETag for part {index + 1} of {key}.");
                        // With SSE-KMS or SSE-C the ETag is not an MD5; the stat and the reader's SHA-256 still check.
                        var encryption = response.Headers.TryGetValues("x-amz-server-side-encryption", out var sse) ? sse.FirstOrDefault() : null;
                        var customerKey = response.Headers.Contains("x-amz-server-side-encryption-customer-algorithm");
                        if (!customerKey && encryption is null or "AES256" && !EtagMatches(etag, md5))
                        {
                            throw new InvalidDataException($"{key} part {index + 1}: the server's ETag {etag} is not the MD5 of the bytes sent ({Convert.ToHexStringLower(md5)}).");
                        }
                        etags[index] = etag;
                        partMd5s[index] = md5;
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                    }
                }).ConfigureAwait(false);
            var finalEtag = await multipart.CompleteAsync(key, uploadId, etags, cancellationToken).ConfigureAwait(false);
            // AWS answers MD5(concatenated part MD5s)-N; servers that answer a plain MD5 of the whole (s3rver) were
            // already checked part by part above.
            var trimmed = finalEtag?.Trim('"') ?? "";
            if (trimmed.EndsWith($"-{partCount}", StringComparison.Ordinal))
            {
                var expected = Convert.ToHexStringLower(MD5.HashData(partMd5s.SelectMany(m => m).ToArray())) + $"-{partCount}";
                if (!string.Equals(trimmed, expected, StringComparison.OrdinalIgnoreCase))
                {
                    throw new InvalidDataException($"{key}: the server's multipart ETag {trimmed} does not match the parts sent ({expected}).");
                }
            }
        }
        catch
        {
            try
            {
                using var abortTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await multipart.AbortAsync(key, uploadId, abortTimeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Best effort: an abandoned upload holds no visible object; bucket lifecycle rules clean it up.
            }
            throw;
        }
    }

    /// <summary>Checks an object's size and SHA-256 metadata against what the manifest says.</summary>
    public async Task VerifyStoredAsync(string key, CheckpointFileEntry expected, CancellationToken cancellationToken)
    {
        var stat = await client.StatObjectAsync(new StatObjectArgs().WithBucket(options.Location.Bucket).WithObject(key), cancellationToken).ConfigureAwait(false);
        var sha = stat.MetaData.FirstOrDefault(kv => kv.Key.Equals("sha256", StringComparison.OrdinalIgnoreCase) || kv.Key.Equals(Sha256MetadataKey, StringComparison.OrdinalIgnoreCase)).Value;
        if (stat.Size != expected.Size || !string.Equals(sha, expected.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidDataException($"{key} is stored with {stat.Size} bytes and SHA-256 '{sha}', expected {expected.Size} and '{expected.Sha256}'.");
        }
    }

    /// <summary>
    /// Downloads an object into <paramref name="path"/> and checks its size and SHA-256; large objects come down as
    /// parallel ranged GETs. Throws <see cref="InvalidDataException"/> when the bytes do not match.
    /// </summary>
    public async Task DownloadFileAsync(string key, string path, CheckpointFileEntry expected, CancellationToken cancellationToken)
    {
        if (expected.Size < options.MultipartThreshold)
        {
            var bytes = await GetBytesAsync(key, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidDataException($"{key} is missing.");
            Check(bytes.LongLength, Convert.ToHexStringLower(SHA256.HashData(bytes)));
            await File.WriteAllBytesAsync(path, bytes, cancellationToken).ConfigureAwait(false);
            return;
        }

        var url = Presign("GET", key, new Dictionary<string, string>());
        var partSize = options.PartSize;
        var partCount = (int)((expected.Size + partSize - 1) / partSize);
        using (var file = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None, FileOptions.Asynchronous, expected.Size))
        {
            await Parallel.ForEachAsync(
                Enumerable.Range(0, partCount),
                new ParallelOptions { MaxDegreeOfParallelism = options.Parallelism, CancellationToken = cancellationToken },
                async (index, ct) =>
                {
                    var offset = index * partSize;
                    var size = Math.Min(partSize, expected.Size - offset);
                    using var request = new HttpRequestMessage(HttpMethod.Get, url);
                    request.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(offset, offset + size - 1);
                    using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
                    if (response.StatusCode == HttpStatusCode.NotFound)
                    {
                        throw new InvalidDataException($"{key} is missing.");
                    }
                    if (response.StatusCode != HttpStatusCode.PartialContent)
                    {
                        throw await ErrorAsync(response, $"GET {key} bytes {offset}-{offset + size - 1}", ct).ConfigureAwait(false);
                    }
                    await using var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
                    var buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
                    try
                    {
                        long written = 0;
                        int n;
                        while ((n = await body.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
                        {
                            if (written + n > size)
                            {
                                throw new InvalidDataException($"{key}: the server sent more than the {size} bytes asked for.");
                            }
                            await RandomAccess.WriteAsync(file, buffer.AsMemory(0, n), offset + written, ct).ConfigureAwait(false);
                            written += n;
                        }
                        if (written != size)
                        {
                            throw new InvalidDataException($"{key}: the server sent {written} of {size} bytes at offset {offset}.");
                        }
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                    }
                }).ConfigureAwait(false);
        }
        await using (var read = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20))
        {
            Check(read.Length, Convert.ToHexStringLower(await SHA256.HashDataAsync(read, cancellationToken).ConfigureAwait(false)));
        }

        void Check(long size, string sha256)
        {
            if (size != expected.Size || sha256 != expected.Sha256)
            {
                throw new InvalidDataException($"{key} does not verify: {size} bytes with SHA-256 {sha256}, the manifest says {expected.Size} bytes with {expected.Sha256}.");
            }
        }
    }

    /// <summary>Deletes an object; deleting one that is already gone is fine.</summary>
    public Task DeleteAsync(string key, CancellationToken cancellationToken) =>
        client.RemoveObjectAsync(new RemoveObjectArgs().WithBucket(options.Location.Bucket).WithObject(key), cancellationToken);

    /// <summary>
    /// A plain 32-hex ETag is the MD5 of the bytes the server received, except under SSE-KMS or SSE-C; when it differs
    /// the object is read back once (small objects only take this path) so such buckets still work.
    /// </summary>
    private async Task VerifyPutAsync(string key, string? etag, byte[] sent, CancellationToken cancellationToken)
    {
        if (EtagMatches(etag, MD5.HashData(sent)))
        {
            return;
        }
        var stored = await GetBytesAsync(key, cancellationToken).ConfigureAwait(false);
        if (stored is null || !stored.AsSpan().SequenceEqual(sent))
        {
            throw new InvalidDataException($"{key}: the server stored other bytes than were sent (ETag {etag?.Trim('"')}).");
        }
    }

    /// <summary>True when the ETag is the MD5 given, or not an MD5-shaped ETag at all (nothing to compare).</summary>
    private static bool EtagMatches(string? etag, byte[] md5)
    {
        var trimmed = etag?.Trim('"');
        return trimmed is not { Length: 32 } || !trimmed.All(char.IsAsciiHexDigit)
            || string.Equals(trimmed, Convert.ToHexStringLower(md5), StringComparison.OrdinalIgnoreCase);
    }

    public void Dispose()
    {
        http.Dispose();
        client.Dispose();
    }
}

/// <summary>A staged local checkpoint does not match its own manifest; uploading it again cannot help.</summary>
public sealed class LocalCheckpointDamagedException(string message) : IOException(message);

/// <summary>An S3 error answer to a request made outside Minio (presigned), with its S3 error code.</summary>
public sealed class S3RequestException(string code, HttpStatusCode status, string message) : HttpRequestException(message, null, status)
{
    public string Code { get; } = code;
}
