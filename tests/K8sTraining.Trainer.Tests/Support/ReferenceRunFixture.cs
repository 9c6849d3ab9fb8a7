namespace K8sTraining.Trainer.Tests.Support;

/// <summary>The uninterrupted run every interrupted run must match byte for byte; trained once per test class.</summary>
public sealed class ReferenceRunFixture : IAsyncLifetime
{
    private readonly TrainerRun _run = new();

    public byte[] FinalWeights { get; private set; } = [];

    public async Task InitializeAsync()
    {
        var (code, process) = await TrainerProcess.RunAsync(_run.Args("--checkpoint-dir", Path.Combine(_run.Directory, "reference-checkpoints")));
        using (process)
        {
            Assert.True(code == 0, $"reference run exited {code}\n{process.Stdout}\n{process.Stderr}");
        }
        FinalWeights = await File.ReadAllBytesAsync(_run.Output);
    }

    public Task DisposeAsync()
    {
        _run.Dispose();
        return Task.CompletedTask;
    }
}
