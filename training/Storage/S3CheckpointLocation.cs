using K8sTraining.Contract;

namespace K8sTraining.Training.Storage;

/// <summary>Where checkpoints live remotely: a bucket and a key prefix parsed from <c>s3://bucket/prefix</c>.</summary>
public sealed record S3CheckpointLocation(string Bucket, string Prefix)
{
    /// <summary>The key of an object under the prefix, e.g. <c>prefix/step-000000000010/model.bin</c>.</summary>
    public string Key(string relative) => Prefix.Length == 0 ? relative : $"{Prefix}/{relative}";

    public string Uri(string? relative = null) =>
        relative is null ? (Prefix.Length == 0 ? $"s3://{Bucket}" : $"s3://{Bucket}/{Prefix}") : $"s3://{Bucket}/{Key(relative)}";

    public override string ToString() => Uri();

    /// <summary>Parses <c>s3://bucket[/prefix]</c>; throws <see cref="RemoteStoreConfigurationException"/> saying what is wrong.</summary>
    public static S3CheckpointLocation Parse(string? value)
    {
        const string Fix = $"Give --checkpoint-uri (or {TrainerEnvironment.CheckpointUri}) as s3://bucket/prefix, e.g. s3://k8straining/jobs/mnist.";
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new RemoteStoreConfigurationException($"--checkpoint-uri is empty. {Fix}");
        }
        if (!value.StartsWith(CheckpointLayout.RemoteScheme, StringComparison.Ordinal))
        {
            throw new RemoteStoreConfigurationException($"--checkpoint-uri '{value}' is malformed: it must start with s3://. {Fix}");
        }
        var rest = value[CheckpointLayout.RemoteScheme.Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var bucket = slash < 0 ? rest : rest[..slash];
        var prefix = slash < 0 ? "" : rest[(slash + 1)..].Trim('/');
        if (!IsValidBucketName(bucket))
        {
            throw new RemoteStoreConfigurationException(
                $"--checkpoint-uri '{value}' is malformed: '{bucket}' is not a valid bucket name (3-63 characters: lowercase letters, digits, '.', '-'; starting and ending with a letter or digit). {Fix}");
        }
        if (prefix.Contains("//", StringComparison.Ordinal) || prefix.Any(c => char.IsControl(c) || c is '\\' or '?' or '#'))
        {
            throw new RemoteStoreConfigurationException(
                $"--checkpoint-uri '{value}' is malformed: the prefix '{prefix}' has an empty segment or a character (\\ ? # or control) that S3 keys here may not hold. {Fix}");
        }
        return new S3CheckpointLocation(bucket, prefix);
    }

    private static bool IsValidBucketName(string bucket) =>
        bucket.Length is >= 3 and <= 63
        && bucket.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '-')
        && char.IsAsciiLetterOrDigit(bucket[0])
        && char.IsAsciiLetterOrDigit(bucket[^1])
        && !bucket.Contains("..", StringComparison.Ordinal);
}
