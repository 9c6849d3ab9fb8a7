using System.Diagnostics;

namespace K8sTraining.LocalCluster.Tests.Scripts;

/// <summary>
/// `make local-cluster` (scripts/local-cluster.sh) as a user runs it: what its banner prints works verbatim, and SIGTERM
/// to its process group leaves nothing running. One class, so that its tests never run at once (they all want the
/// example's S3 port).
/// </summary>
[Trait("Category", "Integration")]
public sealed class LocalClusterScriptTests
{
    private static readonly TimeSpan BannerTimeout = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task Script_Should_LeaveNoProcessRunning_When_ItsProcessGroupGetsSigterm()
    {
        await using var script = LocalClusterScript.Start();
        await script.WaitForBannerAsync(BannerTimeout);
        var before = script.Descendants();
        Assert.Contains(before, p => p.Command.Contains("node", StringComparison.Ordinal)); // s3rver
        Assert.True(before.Count(p => p.Command.Contains("dotnet", StringComparison.Ordinal)) >= 2,
            "the control plane and the operator run: " + string.Join(", ", before.Select(p => p.Command)));

        // As `kill -TERM -- -PGID` (or a terminal closing) does: the script and the reader of its output both get it.
        script.SignalGroup("TERM");

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(40);
        List<(int Pid, long Start, string Command)> left;
        while ((left = before.Where(p => ProcStat.StillRuns(p.Pid, p.Start)).ToList()).Count > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }

        foreach (var (pid, _, _) in left)
        {
            using var kill = Process.Start("kill", ["-KILL", "--", "-" + pid, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync();
        }

        Assert.True(left.Count == 0, "still running after SIGTERM to the group: " + string.Join(", ", left.Select(p => $"{p.Pid} {p.Command}")));
    }

    [Fact]
    public async Task Banner_Should_NameTheServerJustStarted_When_AnEarlierRunLeftItsLog()
    {
        // An earlier run's log says where that run served; the script must wait for this run's line, not read that one.
        var log = Path.Combine(LocalClusterScript.Root, ".local", "logs", "control-plane.log");
        Directory.CreateDirectory(Path.GetDirectoryName(log)!);
        await File.WriteAllTextAsync(log, "local control plane serving at http://127.0.0.1:1\n");

        await using var script = LocalClusterScript.Start();
        var banner = await script.WaitForBannerAsync(BannerTimeout);
        Assert.DoesNotContain("http://127.0.0.1:1 ", banner, StringComparison.Ordinal);
        var (exit, output) = await ShellAsync("kubectl get nodes", script.Kubeconfig, TimeSpan.FromSeconds(60));
        Assert.True(exit == 0, output);
    }

    [Fact]
    public async Task Banner_Should_PrintCommandsThatWorkVerbatim_When_AUserRunsThemInOrder()
    {
        await using var script = LocalClusterScript.Start();
        var banner = await script.WaitForBannerAsync(BannerTimeout);
        var lines = banner[banner.IndexOf("Use it", StringComparison.Ordinal)..].Split('\n').Select(l => l.Trim()).ToList();
        var kubeconfig = lines.Single(l => l.StartsWith("export KUBECONFIG=", StringComparison.Ordinal))["export KUBECONFIG=".Length..];
        var commands = lines.Where(l => l.StartsWith("kubectl ", StringComparison.Ordinal)).ToList();
        Assert.Contains(commands, c => c.StartsWith("kubectl apply -f ", StringComparison.Ordinal) && c.Contains("examples/fashion-mnist-s3.yaml", StringComparison.Ordinal));

        foreach (var command in commands)
        {
            var watch = command.EndsWith(" -w", StringComparison.Ordinal);
            var (exit, output) = await ShellAsync(command, kubeconfig, watch ? TimeSpan.FromSeconds(10) : TimeSpan.FromSeconds(60));
            if (watch)
            {
                Assert.Contains("fashion-mnist", output, StringComparison.Ordinal);
            }
            else
            {
                Assert.True(exit == 0, $"`{command}` failed ({exit}):\n{output}\n{banner}");
            }
        }

        // The trainer reaches S3: its first checkpoint (everySteps 200) lands in s3rver's data directory.
        var prefix = Path.Combine(script.S3Directory, "k8straining", "jobs", "fashion-mnist");
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(8);
        while (!(Directory.Exists(prefix) && Directory.EnumerateFiles(prefix, "*", SearchOption.AllDirectories).Any(f => f.Contains("step-", StringComparison.Ordinal))))
        {
            var (_, phase) = await ShellAsync("kubectl get tj fashion-mnist -o jsonpath={.status.phase}", kubeconfig, TimeSpan.FromSeconds(30));
            var (_, conditions) = await ShellAsync("kubectl get tj fashion-mnist -o jsonpath={.status.conditions}", kubeconfig, TimeSpan.FromSeconds(30));
            Assert.True(phase.Trim() != "Failed", $"the job failed: {conditions}");
            Assert.True(DateTime.UtcNow < deadline, $"no checkpoint under {prefix} in time; phase '{phase}', conditions {conditions}");
            await Task.Delay(2000);
        }

        var (_, finalPhase) = await ShellAsync("kubectl get tj fashion-mnist -o jsonpath={.status.phase}", kubeconfig, TimeSpan.FromSeconds(30));
        Assert.Contains(finalPhase.Trim(), new[] { "Running", "Succeeded" });
    }

    [Fact]
    public async Task Banner_Should_PrintASecretForTheActualS3Port_When_TheExamplePortIsTaken()
    {
        // This test must hold the port itself for the whole run: another test's s3rver may hold it now and let it go
        // before the script looks, so wait until it is ours rather than trusting "taken already".
        using var squatter = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 4568);
        await Eventually.TrueAsync(() =>
        {
            try
            {
                squatter.Start();
                return true;
            }
            catch (System.Net.Sockets.SocketException)
            {
                return false;
            }
        }, TimeSpan.FromMinutes(2), "port 4568 free for this test to hold");

        await using var script = LocalClusterScript.Start();
        var banner = await script.WaitForBannerAsync(BannerTimeout);
        var endpoint = System.Text.RegularExpressions.Regex.Match(banner, @"S3\s+(http://127\.0\.0\.1:\d+)").Groups[1].Value;
        var lines = banner[banner.IndexOf("Use it", StringComparison.Ordinal)..].Split('\n').Select(l => l.Trim()).ToList();
        var kubeconfig = lines.Single(l => l.StartsWith("export KUBECONFIG=", StringComparison.Ordinal))["export KUBECONFIG=".Length..];
        var apply = lines.Single(l => l.StartsWith("kubectl apply -f ", StringComparison.Ordinal));

        // Apply the Secret the banner names (the job is left out: this test is about where the Secret points).
        var (exit, output) = await ShellAsync(apply.Replace(" -f examples/fashion-mnist-s3.yaml", "", StringComparison.Ordinal), kubeconfig, TimeSpan.FromSeconds(60));
        var (_, encoded) = await ShellAsync("kubectl get secret s3-credentials -o jsonpath={.data.AWS_ENDPOINT_URL}", kubeconfig, TimeSpan.FromSeconds(30));

        Assert.True(exit == 0, output);
        Assert.Contains("4568 (where examples/s3-credentials.yaml points) is taken", banner, StringComparison.Ordinal);
        Assert.DoesNotContain("examples/s3-credentials.yaml -f", apply, StringComparison.Ordinal);
        Assert.NotEqual("http://127.0.0.1:4568", endpoint);
        Assert.Equal(endpoint, System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(encoded.Trim())));
    }

    /// <summary>Runs one printed line through bash, verbatim, from the repository root with the printed KUBECONFIG.</summary>
    private static async Task<(int Exit, string Output)> ShellAsync(string command, string kubeconfig, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo("bash")
        {
            WorkingDirectory = LocalClusterScript.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(command);
        psi.Environment["KUBECONFIG"] = kubeconfig;
        psi.Environment["PATH"] = $"{Path.Combine(LocalClusterScript.Root, ".local", "bin")}:{Environment.GetEnvironmentVariable("PATH")}";
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        return (process.ExitCode, await stdout + await stderr);
    }
}
