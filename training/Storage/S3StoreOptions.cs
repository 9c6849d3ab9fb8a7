using System.Globalization;

namespace K8sTraining.Training.Storage;

/// <summary>How the S3 store connects and how hard it tries; built from the standard AWS_* variables at start-up.</summary>
public sealed record S3StoreOptions
{
    public required S3CheckpointLocation Location { get; init; }

    /// <summary>host:port of the endpoint; AWS (<c>s3.REGION.amazonaws.com</c>) when AWS_ENDPOINT_URL is unset.</summary>
    public required string Endpoint { get; init; }

    public required bool UseTls { get; init; }

    /// <summary>Path-style addressing (<c>host/bucket/key</c>): always for AWS_ENDPOINT_URL; AWS itself gets virtual-hosted.</summary>
    public bool PathStyle { get; init; } = true;

    public required string Region { get; init; }

    public required string AccessKey { get; init; }

    public required string SecretKey { get; init; }

    public string? SessionToken { get; init; }

    /// <summary>Checkpoints kept remotely (newest first); 0 keeps all. The resumed checkpoint is never deleted.</summary>
    public int Keep { get; init; } = 3;

    /// <summary>How long start-up (validate, restore) retries an unreachable endpoint before giving up.</summary>
    public TimeSpan StartupTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public TimeSpan RetryInitialDelay { get; init; } = TimeSpan.FromMilliseconds(250);

    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>One request's limit, so a hung connection turns into a retry.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Files at least this large go up as parallel multipart parts and come down as parallel ranged GETs. 5 MiB: below
    /// it Minio sends one PUT; above it Minio would switch to its own sequential, slow multipart path.
    /// </summary>
    public long MultipartThreshold { get; init; } = 5L << 20;

    public long PartSize { get; init; } = 16L << 20;

    public int Parallelism { get; init; } = 4;

    /// <summary>The job that claims the prefix (owner.json); null for a standalone trainer: no ownership check.</summary>
    public CheckpointOwnerClaim? Owner { get; init; }

    /// <summary>
    /// This trainer's attempt (TRAINER_ATTEMPT), the fencing token: null for a trainer started without one, which
    /// neither writes a fence nor is ever fenced (the behaviour before fencing).
    /// </summary>
    public int? Attempt { get; init; }

    /// <summary>The pod (HOSTNAME) this trainer runs in, for the fence object and messages; null when unknown.</summary>
    public string? Pod { get; init; }

    /// <summary>Never prints credentials (a record's generated ToString would).</summary>
    public override string ToString() =>
        $"S3StoreOptions {{ Location = {Location}, Endpoint = {EndpointDisplay}, Region = {Region}, Keep = {Keep}, PartSize = {PartSize}, Parallelism = {Parallelism}, Attempt = {Attempt} }}";

    /// <summary>Where the endpoint is, for messages: never credentials.</summary>
    public string EndpointDisplay => $"{(UseTls ? "https" : "http")}://{Endpoint}";

    /// <summary>
    /// Reads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION (or AWS_DEFAULT_REGION),
    /// AWS_ENDPOINT_URL, and the tuning knobs CHECKPOINT_S3_STARTUP_TIMEOUT_SECONDS, CHECKPOINT_S3_RETRY_MAX_SECONDS,
    /// CHECKPOINT_S3_PART_SIZE_MIB, CHECKPOINT_S3_PARALLELISM.
    /// </summary>
    public static S3StoreOptions FromEnvironment(string checkpointUri, int keep, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var location = S3CheckpointLocation.Parse(checkpointUri);
        string? Get(string name) => environment(name) is { Length: > 0 } v ? v.Trim() : null;

        var accessKey = Get("AWS_ACCESS_KEY_ID");
        var secretKey = Get("AWS_SECRET_ACCESS_KEY");
        if (accessKey is null || secretKey is null)
        {
            var missing = string.Join(" and ", new[] { accessKey is null ? "AWS_ACCESS_KEY_ID" : null, secretKey is null ? "AWS_SECRET_ACCESS_KEY" : null }.OfType<string>());
            throw new RemoteStoreConfigurationException(
                $"--checkpoint-uri {location} needs credentials: {missing} is not set. Set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (in Kubernetes, from a Secret through env valueFrom.secretKeyRef).");
        }

        var region = Get("AWS_REGION") ?? Get("AWS_DEFAULT_REGION") ?? "us-east-1";
        string endpoint;
        bool tls;
        var pathStyle = true;
        if (Get("AWS_ENDPOINT_URL") is { } endpointUrl)
        {
            if (!System.Uri.TryCreate(endpointUrl, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https")
                || uri.AbsolutePath.Trim('/').Length > 0 || !string.IsNullOrEmpty(uri.UserInfo))
            {
                // Echo the value only when it cannot carry credentials (user:password@host).
                var shown = endpointUrl.Contains('@', StringComparison.Ordinal) ? "(value hidden: it holds user info)" : $"'{endpointUrl}'";
                throw new RemoteStoreConfigurationException(
                    $"AWS_ENDPOINT_URL {shown} is malformed: give scheme, host and port only, e.g. http://minio.storage:9000 or https://s3.example.com.");
            }
            tls = uri.Scheme == "https";
            endpoint = uri.IsDefaultPort ? uri.Host : $"{uri.Host}:{uri.Port.ToString(CultureInfo.InvariantCulture)}";
        }
        else
        {
            tls = true;
            pathStyle = false;
            endpoint = $"s3.{region}.amazonaws.com";
        }

        return new S3StoreOptions
        {
            Location = location,
            Endpoint = endpoint,
            UseTls = tls,
            PathStyle = pathStyle,
            Region = region,
            AccessKey = accessKey,
            SecretKey = secretKey,
            SessionToken = Get("AWS_SESSION_TOKEN"),
            Keep = Math.Max(0, keep),
            StartupTimeout = Seconds(Get("CHECKPOINT_S3_STARTUP_TIMEOUT_SECONDS"), "CHECKPOINT_S3_STARTUP_TIMEOUT_SECONDS") ?? TimeSpan.FromSeconds(60),
            RetryMaxDelay = Seconds(Get("CHECKPOINT_S3_RETRY_MAX_SECONDS"), "CHECKPOINT_S3_RETRY_MAX_SECONDS") ?? TimeSpan.FromSeconds(5),
            // S3 refuses parts under 5 MiB (except the last).
            PartSize = Math.Max(5, Positive(Get("CHECKPOINT_S3_PART_SIZE_MIB"), "CHECKPOINT_S3_PART_SIZE_MIB") ?? 16) << 20,
            Parallelism = (int)(Positive(Get("CHECKPOINT_S3_PARALLELISM"), "CHECKPOINT_S3_PARALLELISM") ?? 4),
            Attempt = Fencing.ParseAttempt(Get(K8sTraining.Contract.TrainerEnvironment.Attempt)),
            Pod = Get("HOSTNAME"),
        };
    }

    private static TimeSpan? Seconds(string? value, string name)
    {
        if (value is null)
        {
            return null;
        }
        return double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s > 0
            ? TimeSpan.FromSeconds(s)
            : throw new RemoteStoreConfigurationException($"{name} '{value}' is not a positive number of seconds.");
    }

    private static long? Positive(string? value, string name)
    {
        if (value is null)
        {
            return null;
        }
        return long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : throw new RemoteStoreConfigurationException($"{name} '{value}' is not a positive whole number.");
    }
}

/// <summary>
/// Who this trainer runs for: the TrainingJob's uid (and namespace/name for messages), and whether it may take over a
/// prefix that holds another job's checkpoints.
/// </summary>
public sealed record CheckpointOwnerClaim(string Uid, string? Namespace, string? Name, bool Adopt);
