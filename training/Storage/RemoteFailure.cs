using Minio.Exceptions;

namespace K8sTraining.Training.Storage;

/// <summary>What a failed storage call means for the caller: retry, or stop and tell the user what to fix.</summary>
internal enum RemoteFailureKind
{
    Transient,
    Credentials,
    MissingBucket,
    InvalidName,
    DamagedData,
    LocalDamaged,
}

internal static class RemoteFailure
{
    private static readonly HashSet<string> CredentialCodes = new(StringComparer.Ordinal)
    {
        "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "InvalidSecurity", "AuthorizationHeaderMalformed",
    };

    public static RemoteFailureKind Classify(Exception e) => e switch
    {
        LocalCheckpointDamagedException => RemoteFailureKind.LocalDamaged,
        InvalidDataException => RemoteFailureKind.DamagedData,
        BucketNotFoundException => RemoteFailureKind.MissingBucket,
        AccessDeniedException or AuthorizationException => RemoteFailureKind.Credentials,
        InvalidBucketNameException or InvalidObjectNameException => RemoteFailureKind.InvalidName,
        MinioException { Response.Code: { } code } when CredentialCodes.Contains(code) => RemoteFailureKind.Credentials,
        MinioException { Response.Code: "NoSuchBucket" } => RemoteFailureKind.MissingBucket,
        S3RequestException { Code: { } code } when CredentialCodes.Contains(code) => RemoteFailureKind.Credentials,
        S3RequestException { Code: "NoSuchBucket" } => RemoteFailureKind.MissingBucket,
        _ => RemoteFailureKind.Transient,
    };

    /// <summary>The exception a start-up failure of this kind turns into, with what to fix; null when it is worth retrying.</summary>
    public static Exception? ToConfigurationError(RemoteFailureKind kind, S3StoreOptions options, Exception cause) => kind switch
    {
        RemoteFailureKind.Credentials => new RemoteStoreConfigurationException(
            $"S3 at {options.EndpointDisplay} rejected the credentials for {options.Location}. Check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (the pair must be valid and allowed to read, write and delete under {options.Location}); for temporary credentials also AWS_SESSION_TOKEN.",
            cause),
        RemoteFailureKind.MissingBucket => new RemoteStoreConfigurationException(
            $"The bucket '{options.Location.Bucket}' of --checkpoint-uri {options.Location} does not exist at {options.EndpointDisplay}. Create it (e.g. `aws s3 mb s3://{options.Location.Bucket}` or `mc mb`), or fix the bucket in --checkpoint-uri (or AWS_ENDPOINT_URL if it points at the wrong server).",
            cause),
        RemoteFailureKind.InvalidName => new RemoteStoreConfigurationException(
            $"--checkpoint-uri {options.Location} is not accepted by S3 at {options.EndpointDisplay}: {cause.Message}. Give s3://bucket/prefix with a valid bucket name.",
            cause),
        _ => null,
    };
}
