using System.Diagnostics;
using System.Globalization;
using K8sTraining.LocalCluster.Hosting;

namespace K8sTraining.LocalCluster.Tests.Scripts;

/// <summary>
/// scripts/local-cluster.sh started as `make local-cluster | cat` would run it: in a process group of its own whose
/// stdout is a pipe to a reader in the same group, so that signalling the group also stops the reader.
/// </summary>
internal sealed class LocalClusterScript : IAsyncDisposable
{
    private readonly Process _group;

    private LocalClusterScript(Process group, string directory)
    {
        _group = group;
        Directory = directory;
    }

    public static string Root { get; } = RepositoryRoot.Find();

    /// <summary>Holds the kubeconfig and the script's output.</summary>
    public string Directory { get; }

    public string OutputFile => Path.Combine(Directory, "local-cluster.out");

    public string Kubeconfig => Path.Combine(Directory, "kubeconfig");

    /// <summary>s3rver's data directory (LOCAL_S3_DIR), so that the tests leave the checkout's .local/s3 alone.</summary>
    public string S3Directory => Path.Combine(Directory, "s3");

    /// <summary>The process group (and session) id: the pid of the `bash -c` that leads it.</summary>
    public int GroupId => _group.Id;

    public string Output => File.Exists(OutputFile) ? File.ReadAllText(OutputFile) : "";

    public static LocalClusterScript Start()
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("local-cluster-script-").FullName;
        // setsid: a new session and process group led by bash (a child of this test host is never a group leader, so
        // setsid does not fork and the pid we get is the group's id).
        var psi = new ProcessStartInfo("setsid")
        {
            WorkingDirectory = Root,
            UseShellExecute = false,
            RedirectStandardInput = true,
        };
        psi.ArgumentList.Add("bash");
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add($"scripts/local-cluster.sh 2>&1 | cat > '{Path.Combine(directory, "local-cluster.out")}'");
        psi.Environment["LOCAL_KUBECONFIG"] = Path.Combine(directory, "kubeconfig");
        psi.Environment["LOCAL_S3_DIR"] = Path.Combine(directory, "s3");
        psi.Environment["PATH"] = $"{Path.Combine(Root, ".local", "bin")}:{Environment.GetEnvironmentVariable("PATH")}";
        var process = Process.Start(psi)!;
        process.StandardInput.Close();
        return new LocalClusterScript(process, directory);
    }

    /// <summary>Waits for the banner's last line; fails with the output if the script stops first.</summary>
    public async Task<string> WaitForBannerAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Output.Contains("Ctrl+C stops everything.", StringComparison.Ordinal))
        {
            if (_group.HasExited || DateTime.UtcNow > deadline)
            {
                Assert.Fail($"scripts/local-cluster.sh printed no banner (exited: {_group.HasExited}):\n{Output}");
            }

            await Task.Delay(200);
        }

        return Output;
    }

    /// <summary>Every process below the script (pid and start time, so that a reused pid does not count).</summary>
    public IReadOnlyList<(int Pid, long Start, string Command)> Descendants()
    {
        var all = ProcStat.All();
        var found = new List<(int, long, string)>();
        var frontier = new Queue<int>([GroupId]);
        while (frontier.Count > 0)
        {
            var parent = frontier.Dequeue();
            foreach (var p in all.Where(p => p.Ppid == parent))
            {
                found.Add((p.Pid, p.Start, p.Command));
                frontier.Enqueue(p.Pid);
            }
        }

        return found;
    }

    public void SignalGroup(string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, "--", "-" + GroupId.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_group.HasExited)
        {
            SignalGroup("TERM");
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await _group.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                SignalGroup("KILL");
            }
        }

        _group.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
    }
}

/// <summary>/proc/PID/stat, read for the process tree: state, parent and start time.</summary>
internal sealed record ProcStat(int Pid, char State, int Ppid, long Start, string Command)
{
    public static IReadOnlyList<ProcStat> All()
    {
        var result = new List<ProcStat>();
        foreach (var dir in System.IO.Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out var pid) && Read(pid) is { } stat)
            {
                result.Add(stat);
            }
        }

        return result;
    }

    public static ProcStat? Read(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/stat");
            var close = text.LastIndexOf(')');
            var command = text[(text.IndexOf('(', StringComparison.Ordinal) + 1)..close];
            var fields = text[(close + 2)..].Split(' ');
            // fields[0] is field 3 (state); field 4 is the parent, field 22 the start time.
            return new ProcStat(pid, fields[0][0], int.Parse(fields[1], CultureInfo.InvariantCulture),
                long.Parse(fields[19], CultureInfo.InvariantCulture), command);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null; // gone while we looked
        }
    }

    /// <summary>Whether this very process (same pid and start time) still runs; a zombie has stopped.</summary>
    public static bool StillRuns(int pid, long start) => Read(pid) is { } s && s.Start == start && s.State != 'Z';
}
