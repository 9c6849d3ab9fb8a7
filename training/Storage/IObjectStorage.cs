using K8sTraining.Training.Checkpoints;

namespace K8sTraining.Training.Storage;

/// <summary>
/// The object requests the checkpoint store makes (<see cref="S3ObjectClient"/> over S3); a seam so the commit protocol
/// can be tested against a store double that enforces conditional writes, which s3rver does not.
/// </summary>
internal interface IObjectStorage : IDisposable
{
    Task<byte[]?> GetBytesAsync(string key, CancellationToken cancellationToken);

    Task<(byte[]? Bytes, string? ETag)> GetWithETagAsync(string key, CancellationToken cancellationToken);

    Task PutBytesAsync(string key, byte[] bytes, CancellationToken cancellationToken);

    Task<bool> PutBytesConditionalAsync(string key, byte[] bytes, string? ifMatch, CancellationToken cancellationToken);

    Task<IReadOnlyList<string>> ListKeysAsync(string keyPrefix, CancellationToken cancellationToken);

    Task UploadFileAsync(string key, string path, CheckpointFileEntry expected, CancellationToken cancellationToken);

    Task DownloadFileAsync(string key, string path, CheckpointFileEntry expected, CancellationToken cancellationToken);

    Task DeleteAsync(string key, CancellationToken cancellationToken);
}
