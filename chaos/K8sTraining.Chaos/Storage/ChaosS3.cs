using System.Globalization;
using K8sTraining.TestSupport;

namespace K8sTraining.Chaos.Storage;

/// <summary>
/// A real s3rver on loopback whose clients sign with the suite's random secret: s3rver knows only its fixed key pair,
/// so it runs with --allow-mismatched-signatures, and the secret the trainer holds is a value no log may contain.
/// Stop and start it again on the same port and data directory for a server restart.
/// </summary>
public sealed class ChaosS3 : IAsyncDisposable
{
    public const string Bucket = S3rverServer.Bucket;

    private ChildProcess? process;

    private ChaosS3(string dataDirectory, int port)
    {
        DataDirectory = dataDirectory;
        Port = port;
    }

    public string DataDirectory { get; }

    public int Port { get; }

    public string EndpointUrl => $"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    public string BucketDirectory => Path.Combine(DataDirectory, Bucket);

    public static async Task<ChaosS3> StartAsync(string dataDirectory, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(dataDirectory);
        var server = new ChaosS3(dataDirectory, FreePort.Next());
        await server.StartAgainAsync(cancellationToken);
        return server;
    }

    /// <summary>The environment a trainer gets to reach <paramref name="endpoint"/> (this server or a proxy in front).</summary>
    public static Dictionary<string, string> Environment(string endpoint, string secret) => new()
    {
        ["AWS_ACCESS_KEY_ID"] = S3rverServer.AccessKey,
        ["AWS_SECRET_ACCESS_KEY"] = secret,
        ["AWS_REGION"] = "us-east-1",
        ["AWS_ENDPOINT_URL"] = endpoint,
        ["CHECKPOINT_S3_STARTUP_TIMEOUT_SECONDS"] = "20",
        ["CHECKPOINT_S3_RETRY_MAX_SECONDS"] = "0.5",
        ["CHECKPOINT_S3_PART_SIZE_MIB"] = "5",
    };

    public async Task StartAgainAsync(CancellationToken cancellationToken)
    {
        if (process is { HasExited: false })
        {
            return;
        }
        process = ChildProcess.Start(S3rverServer.ExecutablePath, ["-d", DataDirectory, "-a", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), "-s", "--allow-mismatched-signatures", "--configure-bucket", Bucket]);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"s3rver exited before answering on {EndpointUrl}:\n{process.Output}");
            }
            try
            {
                using var response = await http.GetAsync(new Uri(EndpointUrl + "/"), cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"s3rver did not answer on {EndpointUrl} within 60 s");
            }
            await Task.Delay(50, cancellationToken);
        }
    }

    public async Task StopAsync()
    {
        if (process is not null)
        {
            await process.DisposeAsync();
            process = null;
        }
    }

    /// <summary>The file s3rver keeps an object's bytes in.</summary>
    public string ObjectPath(string key)
    {
        var parts = key.Split('/');
        return Path.Combine([BucketDirectory, .. parts[..^1], parts[^1] + "._S3rver_object"]);
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
