namespace K8sTraining.Metrics.Tests.Support;

/// <summary>s3rver (tools/node_modules/.bin/s3rver) on a loopback port with bucket k8straining; killed on dispose.</summary>
public sealed class S3rver : IAsyncDisposable
{
    public const string Key = "S3RVER";
    public const string Bucket = "k8straining";

    private readonly ChildProcess _process;
    private readonly string _directory;

    private S3rver(ChildProcess process, string directory, string endpoint)
    {
        _process = process;
        _directory = directory;
        Endpoint = endpoint;
    }

    public string Endpoint { get; }

    /// <summary>The environment a trainer needs to reach this store.</summary>
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>
    {
        ["AWS_ACCESS_KEY_ID"] = Key,
        ["AWS_SECRET_ACCESS_KEY"] = Key,
        ["AWS_REGION"] = "us-east-1",
        ["AWS_ENDPOINT_URL"] = Endpoint,
    };

    public static async Task<S3rver> StartAsync()
    {
        var exe = Path.Combine(RepositoryPaths.Root, "tools", "node_modules", ".bin", "s3rver");
        if (!File.Exists(exe))
        {
            throw new InvalidOperationException($"{exe} is missing: run `make deps`.");
        }

        var directory = Directory.CreateTempSubdirectory("k8straining-s3rver-").FullName;
        var port = FreePort.Next();
        var process = ChildProcess.Start(exe, ["-d", directory, "-a", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-s", "--configure-bucket", Bucket]);
        var server = new S3rver(process, directory, $"http://127.0.0.1:{port}");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await Eventually.GetAsync(async () => (await http.GetAsync(server.Endpoint + "/")).IsSuccessStatusCode, ok => ok, TimeSpan.FromSeconds(30), "s3rver to answer");
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
