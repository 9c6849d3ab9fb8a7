using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace K8sTraining.Benchmarks;

/// <summary>An s3rver (tools/node_modules/.bin/s3rver) on a free loopback port for the storage benchmark.</summary>
internal sealed class StorageS3rver : IAsyncDisposable
{
    private readonly Process process;
    private bool disposed;

    private StorageS3rver(Process process, int port, string directory)
    {
        this.process = process;
        Port = port;
        Directory = directory;
    }

    public int Port { get; }

    public string Directory { get; }

    public string EndpointUrl => $"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    public static async Task<StorageS3rver> StartAsync(string repositoryRoot, string directory, CancellationToken cancellationToken)
    {
        var executable = Path.Combine(repositoryRoot, "tools", "node_modules", ".bin", "s3rver");
        if (!File.Exists(executable))
        {
            throw new InvalidOperationException($"{executable} is missing: run `make deps` first.");
        }
        System.IO.Directory.CreateDirectory(directory);
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        var info = new ProcessStartInfo(executable) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-d", directory, "-a", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-s", "--configure-bucket", "k8straining" })
        {
            info.ArgumentList.Add(a);
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException("s3rver did not start.");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new StorageS3rver(process, port, directory);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var response = await http.GetAsync(new Uri(server.EndpointUrl + "/"), cancellationToken).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    return server;
                }
            }
            catch (HttpRequestException)
            {
            }
            if (process.HasExited || deadline.Elapsed > TimeSpan.FromSeconds(30))
            {
                await server.DisposeAsync().ConfigureAwait(false);
                throw new InvalidOperationException($"s3rver did not answer on {server.EndpointUrl}.");
            }
            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (disposed)
        {
            return;
        }
        disposed = true;
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }
        await process.WaitForExitAsync().ConfigureAwait(false);
        process.Dispose();
    }
}
