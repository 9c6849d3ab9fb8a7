using K8sTraining.Contract;

namespace K8sTraining.Trainer.Tests.Distributed;

/// <summary>The uninterrupted 2-rank run the data-parallel tests compare with; trained once per class.</summary>
public sealed class TwoRankReference : IAsyncLifetime
{
    private readonly RankGroup _group = new(2);

    /// <summary>Rank 0's final weights.</summary>
    public byte[] Weights { get; private set; } = [];

    public async Task InitializeAsync()
    {
        var codes = await _group.RunAsync(2);
        Assert.True(codes.All(c => c == TrainerExitCodes.Completed), $"reference 2-rank run exited {string.Join(",", codes)}\n{_group.Logs()}");
        Weights = await File.ReadAllBytesAsync(_group.Runs[0].Output);
    }

    public Task DisposeAsync()
    {
        _group.Dispose();
        return Task.CompletedTask;
    }
}
