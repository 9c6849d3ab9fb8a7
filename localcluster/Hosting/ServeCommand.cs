using System.Globalization;
using System.Runtime.InteropServices;

namespace K8sTraining.LocalCluster.Hosting;

/// <summary>
/// <c>serve --port N --kubeconfig PATH [--audit-log FILE] [--state-dir DIR] [--no-node-agent] [--no-admission] [--bookmark-interval SECONDS]</c>:
/// runs the local control plane in the foreground until SIGINT or SIGTERM.
/// </summary>
public static class ServeCommand
{
    private const string Usage =
        "usage: K8sTraining.LocalCluster serve --port N (0 = free port) --kubeconfig PATH [--audit-log FILE] [--state-dir DIR] [--no-node-agent] [--no-admission] [--bookmark-interval SECONDS]";

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args[0] != "serve")
        {
            await Console.Error.WriteLineAsync(Usage);
            return 2;
        }

        var options = new LocalControlPlaneOptions { StartNodeAgent = true };
        try
        {
            for (var i = 1; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                options = args[i] switch
                {
                    "--port" => options with { Port = int.Parse(Next(), CultureInfo.InvariantCulture) },
                    "--kubeconfig" => options with { KubeconfigPath = Next() },
                    "--audit-log" => options with { AuditLogPath = Next() },
                    "--state-dir" => options with { StateDirectory = Path.GetFullPath(Next()) },
                    "--no-node-agent" => options with { StartNodeAgent = false },
                    "--no-admission" => options with { EnforcePodAdmission = false },
                    "--bookmark-interval" => options with { BookmarkInterval = TimeSpan.FromSeconds(double.Parse(Next(), CultureInfo.InvariantCulture)) },
                    _ => throw new ArgumentException($"unknown flag {args[i]}"),
                };
            }
        }
        catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
        {
            await Console.Error.WriteLineAsync($"{e.Message}\n{Usage}");
            return 2;
        }

        options = options with { KubeconfigPath = options.KubeconfigPath ?? Path.Combine(RepositoryRoot.Find(), ".local", "kubeconfig") };
        var stop = new TaskCompletionSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.TrySetResult(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.TrySetResult(); });
        await using var plane = await LocalControlPlane.StartAsync(options);
        Console.WriteLine($"local control plane serving at {plane.BaseUri.GetLeftPart(UriPartial.Authority)}");
        Console.WriteLine($"kubeconfig: {plane.KubeconfigPath}");
        Console.WriteLine($"node agent: {(options.StartNodeAgent ? options.NodeName : "not started")}");
        await stop.Task;
        Console.WriteLine("stopping");
        return 0;
    }
}
