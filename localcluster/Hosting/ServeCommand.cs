using System.Globalization;
using System.Runtime.InteropServices;

namespace K8sTraining.LocalCluster.Hosting;

/// <summary>
/// <c>serve --port N --kubeconfig PATH [--audit-log FILE] [--state-dir DIR] [--no-node-agent] [--no-admission] [--bookmark-interval SECONDS]
/// [--nodes N] [node lifecycle timings in seconds]</c>: runs the local control plane in the foreground until SIGINT or
/// SIGTERM. Each timing flag is named after the real component's setting it stands for (see <see cref="Usage"/>).
/// </summary>
public static class ServeCommand
{
    private const string Usage =
        "usage: K8sTraining.LocalCluster serve --port N (0 = free port) --kubeconfig PATH [--audit-log FILE] [--state-dir DIR] [--no-node-agent] [--no-admission] [--bookmark-interval SECONDS]\n"
        + "  [--nodes N (default 1)]\n"
        + "  node lifecycle, in seconds (defaults: a real cluster's): [--node-monitor-period 5] [--node-monitor-grace-period 50] [--node-startup-grace-period 60]\n"
        + "  [--default-toleration-seconds 300] [--pod-gc-period 20] [--pod-gc-quarantine 40] [--cloud-node-deletion-delay 0]\n"
        + "  [--node-lease-duration 40] [--node-lease-renew-interval 10] [--node-status-report-frequency 300]";

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
                    "--bookmark-interval" => options with { BookmarkInterval = Seconds(Next()) },
                    "--nodes" => options with { Nodes = int.Parse(Next(), CultureInfo.InvariantCulture) },
                    "--node-monitor-period" => options with { NodeLifecycle = options.NodeLifecycle with { NodeMonitorPeriod = Seconds(Next()) } },
                    "--node-monitor-grace-period" => options with { NodeLifecycle = options.NodeLifecycle with { NodeMonitorGracePeriod = Seconds(Next()) } },
                    "--node-startup-grace-period" => options with { NodeLifecycle = options.NodeLifecycle with { NodeStartupGracePeriod = Seconds(Next()) } },
                    "--default-toleration-seconds" => options with { NodeLifecycle = options.NodeLifecycle with { DefaultTolerationSeconds = long.Parse(Next(), CultureInfo.InvariantCulture) } },
                    "--pod-gc-period" => options with { NodeLifecycle = options.NodeLifecycle with { PodGcPeriod = Seconds(Next()) } },
                    "--pod-gc-quarantine" => options with { NodeLifecycle = options.NodeLifecycle with { PodGcOrphanQuarantine = Seconds(Next()) } },
                    "--cloud-node-deletion-delay" => options with { NodeLifecycle = options.NodeLifecycle with { CloudNodeDeletionDelay = Seconds(Next()) } },
                    "--node-lease-duration" => options with { NodeLeaseDuration = Seconds(Next()) },
                    "--node-lease-renew-interval" => options with { NodeLeaseRenewInterval = Seconds(Next()) },
                    "--node-status-report-frequency" => options with { NodeStatusReportFrequency = Seconds(Next()) },
                    _ => throw new ArgumentException($"unknown flag {args[i]}"),
                };
            }
        }
        catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
        {
            await Console.Error.WriteLineAsync($"{e.Message}\n{Usage}");
            return 2;
        }

        if (options.Nodes is < 1 or > 254)
        {
            await Console.Error.WriteLineAsync($"--nodes must be between 1 and 254\n{Usage}");
            return 2;
        }

        options = options with { KubeconfigPath = options.KubeconfigPath ?? Path.Combine(RepositoryRoot.Find(), ".local", "kubeconfig") };
        var stop = new TaskCompletionSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.TrySetResult(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.TrySetResult(); });
        await using var plane = await LocalControlPlane.StartAsync(options);
        Console.WriteLine($"local control plane serving at {plane.BaseUri.GetLeftPart(UriPartial.Authority)}");
        Console.WriteLine($"kubeconfig: {plane.KubeconfigPath}");
        var nodes = Enumerable.Range(1, options.Nodes).Select(i => $"{LocalNodes.Name(options.NodeName, i)} ({LocalNodes.HostIP(i)})");
        Console.WriteLine($"node agents: {(options.StartNodeAgent ? string.Join(", ", nodes) : "not started")}");
        await stop.Task;
        Console.WriteLine("stopping");
        return 0;
    }

    private static TimeSpan Seconds(string value)
    {
        var seconds = double.Parse(value, CultureInfo.InvariantCulture);
        return seconds >= 0 ? TimeSpan.FromSeconds(seconds) : throw new ArgumentException($"{value}: seconds cannot be negative");
    }
}
