using System.Globalization;
using Xunit;

namespace K8sTraining.TestSupport;

/// <summary>
/// A real s3rver (npm, installed by `make deps` under tools/) on a free loopback port with its own data directory and
/// the bucket <c>k8straining</c>. Stop and start it again on the same port and directory to simulate an outage.
/// </summary>
public sealed class S3rverServer : IAsyncDisposable
{
    public const string Bucket = "k8straining";
    public const string AccessKey = "S3RVER";
    public const string SecretKey = "S3RVER";

    private readonly bool _ownsDirectory;
    private ChildProcess? _process;

    private S3rverServer(string dataDirectory, int port, bool ownsDirectory)
    {
        DataDirectory = dataDirectory;
        Port = port;
        _ownsDirectory = ownsDirectory;
    }

    public string DataDirectory { get; }

    public int Port { get; }

    public string EndpointUrl => $"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    public bool IsRunning => _process is { HasExited: false };

    public static string ExecutablePath
    {
        get
        {
            var path = RepositoryPaths.Of("tools", "node_modules", ".bin", "s3rver");
            return File.Exists(path)
                ? path
                : throw new InvalidOperationException($"{path} is missing: run `make deps` (scripts/install-deps.sh) first.");
        }
    }

    /// <summary>The four AWS_* variables a client needs to reach this server (a Secret's data, a trainer's environment).</summary>
    public IReadOnlyDictionary<string, string> AwsEnvironment => new Dictionary<string, string>
    {
        ["AWS_ACCESS_KEY_ID"] = AccessKey,
        ["AWS_SECRET_ACCESS_KEY"] = SecretKey,
        ["AWS_REGION"] = "us-east-1",
        ["AWS_ENDPOINT_URL"] = EndpointUrl,
    };

    /// <summary>
    /// Starts a server and waits until it answers. Its data lives in <paramref name="dataDirectory"/> when given (left in
    /// place on dispose), else in a fresh temporary directory (deleted on dispose).
    /// </summary>
    public static async Task<S3rverServer> StartAsync(string? dataDirectory = null, CancellationToken cancellationToken = default)
    {
        var owns = dataDirectory is null;
        var data = dataDirectory ?? Path.Combine(Path.GetTempPath(), "k8straining-s3rver-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(data);
        var server = new S3rverServer(data, TestSupport.FreePort.Next(), owns);
        try
        {
            await server.StartAgainAsync(cancellationToken);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        return server;
    }

    /// <summary>Starts (again) on the same port and data directory, and waits until it answers.</summary>
    public async Task StartAgainAsync(CancellationToken cancellationToken = default)
    {
        if (IsRunning)
        {
            return;
        }
        var process = ChildProcess.Start(ExecutablePath, ["-d", DataDirectory, "-a", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), "-s", "--configure-bucket", Bucket]);
        _process = process;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"s3rver exited with {process.Process.ExitCode} before answering on port {Port}:\n{process.Output}");
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
                throw new TimeoutException($"s3rver did not answer on {EndpointUrl} within 30 s:\n{process.Output}");
            }
            await Task.Delay(50, cancellationToken);
        }
    }

    /// <summary>Kills the server (and its children) and waits until it has exited: the port refuses connections.</summary>
    public async Task StopAsync()
    {
        if (_process is null)
        {
            return;
        }
        await _process.DisposeAsync();
        _process = null;
    }

    /// <summary>
    /// The environment a trainer or store gets to reach this server, with short storage timeouts and 5 MiB parts so
    /// outages and multipart uploads show within a test's time.
    /// </summary>
    public Dictionary<string, string?> Environment(string? accessKey = null, string? secretKey = null) => new()
    {
        ["AWS_ACCESS_KEY_ID"] = accessKey ?? AccessKey,
        ["AWS_SECRET_ACCESS_KEY"] = secretKey ?? SecretKey,
        ["AWS_REGION"] = "us-east-1",
        ["AWS_ENDPOINT_URL"] = EndpointUrl,
        ["CHECKPOINT_S3_STARTUP_TIMEOUT_SECONDS"] = "3",
        ["CHECKPOINT_S3_RETRY_MAX_SECONDS"] = "0.5",
        ["CHECKPOINT_S3_PART_SIZE_MIB"] = "5",
    };

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (!_ownsDirectory)
        {
            return;
        }
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>A loopback port nobody listens on right now (<see cref="TestSupport.FreePort.Next"/>).</summary>
    public static int FreePort() => TestSupport.FreePort.Next();
}

/// <summary>One s3rver shared by the tests of a class; each test uses its own prefix.</summary>
public sealed class S3rverFixture : IAsyncLifetime
{
    public S3rverServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await S3rverServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}
