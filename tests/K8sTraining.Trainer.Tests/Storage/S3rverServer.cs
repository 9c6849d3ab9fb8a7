using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace K8sTraining.Trainer.Tests.Storage;

/// <summary>
/// A real s3rver (npm, installed by `make deps` under tools/) on a free loopback port with its own data directory and
/// the bucket <c>k8straining</c>. Stop and start it again on the same port and directory to simulate an outage.
/// </summary>
public sealed class S3rverServer : IAsyncDisposable
{
    public const string Bucket = "k8straining";
    public const string AccessKey = "S3RVER";
    public const string SecretKey = "S3RVER";

    private Process? process;

    private S3rverServer(string dataDirectory, int port)
    {
        DataDirectory = dataDirectory;
        Port = port;
    }

    public string DataDirectory { get; }

    public int Port { get; }

    public string EndpointUrl => $"http://127.0.0.1:{Port}";

    public bool IsRunning => process is { HasExited: false };

    public static async Task<S3rverServer> StartAsync()
    {
        var data = Path.Combine(Path.GetTempPath(), "k8straining-s3rver-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(data);
        var server = new S3rverServer(data, FreePort());
        await server.StartAgainAsync();
        return server;
    }

    public static string ExecutablePath
    {
        get
        {
            var root = RepositoryRoot();
            var path = Path.Combine(root, "tools", "node_modules", ".bin", "s3rver");
            return File.Exists(path)
                ? path
                : throw new InvalidOperationException($"{path} is missing: run `make deps` (scripts/install-deps.sh) first.");
        }
    }

    /// <summary>Starts (again) on the same port and data directory, and waits until it answers.</summary>
    public async Task StartAgainAsync()
    {
        if (IsRunning)
        {
            return;
        }
        var info = new ProcessStartInfo(ExecutablePath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-d", DataDirectory, "-a", "127.0.0.1", "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-s", "--configure-bucket", Bucket })
        {
            info.ArgumentList.Add(a);
        }
        process = Process.Start(info) ?? throw new InvalidOperationException("s3rver did not start.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"s3rver exited with {process.ExitCode} before answering on port {Port}.");
            }
            try
            {
                using var response = await http.GetAsync(EndpointUrl + "/");
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"s3rver did not answer on {EndpointUrl} within 30 s.");
            }
            await Task.Delay(50);
        }
    }

    /// <summary>Kills the server (and its children) and waits until the port refuses connections.</summary>
    public async Task StopAsync()
    {
        if (process is null)
        {
            return;
        }
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }
        await process.WaitForExitAsync();
        process.Dispose();
        process = null;
    }

    /// <summary>The environment a trainer or store gets to reach this server.</summary>
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
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "K8sTraining.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("K8sTraining.sln not found above the test assembly.");
    }
}

/// <summary>One s3rver shared by the tests of a class; each test uses its own prefix.</summary>
public sealed class S3rverFixture : IAsyncLifetime
{
    public S3rverServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await S3rverServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}
