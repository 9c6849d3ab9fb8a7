using K8sTraining.NodeAgent.Processes;

namespace K8sTraining.LocalCluster.Tests.NodeAgent;

[Trait("Category", "Integration")]
public sealed class ProcessGroupTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("process-group-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private ProcessGroup Start(string script, Dictionary<string, string>? env = null) => ProcessGroup.Start(new ProcessSpec(
        ["/bin/sh", "-c", script],
        env ?? new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin" },
        _directory,
        Path.Combine(_directory, "0.log")));

    [Fact]
    public async Task Start_Should_RunInItsOwnProcessGroupAndLogBothStreams_When_Started()
    {
        using var group = Start(
            "cut -d' ' -f5,6 /proc/$$/stat > ids; echo out; echo err >&2; echo \"$SECRET-$HOME\"; exit 3",
            new() { ["PATH"] = "/usr/bin:/bin", ["SECRET"] = "s" });

        var exitCode = await group.Exited.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(3, exitCode);
        Assert.Equal($"{group.Id} {group.Id}", File.ReadAllText(Path.Combine(_directory, "ids")).Trim());
        Assert.Equal(["out", "err", "s-"], File.ReadAllLines(Path.Combine(_directory, "0.log")));
    }

    [Fact]
    public async Task Terminate_Should_End143AndTakeChildrenAlong_When_SigtermIsNotHandled()
    {
        using var group = Start("sleep 300 & echo $! > child.pid; wait");
        var childPidFile = Path.Combine(_directory, "child.pid");
        var child = await Eventually.ValueAsync(() => File.Exists(childPidFile) && File.ReadAllText(childPidFile).Trim() is { Length: > 0 } s ? int.Parse(s) : (int?)null);

        Assert.True(group.Terminate());
        var exitCode = await group.Exited.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(143, exitCode);
        await Eventually.TrueAsync(() => !Directory.Exists($"/proc/{child}") || File.ReadAllText($"/proc/{child}/stat").Contains(") Z ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Terminate_Should_ReachOnlyTheMainProcess_When_AShellDoesNotForwardIt()
    {
        using var group = Start("trap 'echo main-got-term >> signals; exit 0' TERM; sh -c \"trap 'echo child-got-term >> signals' TERM; echo ready > ready; while true; do sleep 0.05; done\" & wait");
        await Eventually.TrueAsync(() => File.Exists(Path.Combine(_directory, "ready")));

        group.Terminate();
        await group.Exited.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(["main-got-term"], File.ReadAllLines(Path.Combine(_directory, "signals")));
    }

    [Fact]
    public async Task Exited_Should_KillTheRestOfTheGroup_When_MainProcessEnds()
    {
        using var group = Start("sleep 300 & echo $! > child.pid; exit 0");

        var exitCode = await group.Exited.WaitAsync(TimeSpan.FromSeconds(10));
        var child = int.Parse(File.ReadAllText(Path.Combine(_directory, "child.pid")).Trim());

        Assert.Equal(0, exitCode);
        await Eventually.TrueAsync(() => !Directory.Exists($"/proc/{child}") || File.ReadAllText($"/proc/{child}/stat").Contains(") Z ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Kill_Should_Give137_When_ProcessIgnoresSigterm()
    {
        using var group = Start("trap 'echo term > got-term' TERM; echo ready > ready; while true; do sleep 0.1; done");
        await Eventually.TrueAsync(() => File.Exists(Path.Combine(_directory, "ready")));

        group.Terminate();
        await Eventually.TrueAsync(() => File.Exists(Path.Combine(_directory, "got-term")), what: "the trap ran");
        Assert.False(group.Exited.IsCompleted);
        group.Kill();

        Assert.Equal(137, await group.Exited.WaitAsync(TimeSpan.FromSeconds(10)));
    }
}
