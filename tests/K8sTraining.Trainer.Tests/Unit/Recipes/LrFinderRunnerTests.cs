using K8sTraining.Training.Data;
using K8sTraining.Training.LrFinder;
using K8sTraining.Training.Options;
using K8sTraining.Training.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace K8sTraining.Trainer.Tests.Unit.Recipes;

[Collection(K8sTraining.Trainer.Tests.Unit.Models.TorchRandomCollection.Name)]
[Trait("Category", "Unit")]
public sealed class LrFinderRunnerTests
{
    private static readonly ITrainingDataset Train = SyntheticDataset.Create(512).Train;

    private static TrainerOptions Options(params string[] args) =>
        OptionsParser.Parse(["--lr-find-steps", "60", "--lr-find-start", "1e-5", "--lr-find-end", "10", "--batch-size", "32", "--seed", "7", .. args], _ => null);

    // An MLP with dropout: its training-mode forward draws from torch's global generator, as a real network's would.
    private static nn.Module<Tensor, Tensor> Network()
    {
        torch.manual_seed(3);
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 10));
    }

    private static Tensor Loss(Tensor output, Tensor target) => nn.functional.cross_entropy(output, target);

    [Fact]
    public void Run_Should_SuggestALearningRateInsideTheSweep_When_TheTaskIsLearnable()
    {
        var options = Options();
        using var model = Network();

        var result = LrFinderRunner.Run(model, Train, Loss, options, CancellationToken.None);

        Assert.NotNull(result.Suggestion);
        Assert.InRange(result.Suggestion!.Value, 1e-5, 10);
        Assert.InRange(result.Points.Count, 10, 60);
        Assert.True(result.Points.Min(p => p.SmoothedLoss) < result.Points[0].SmoothedLoss * 0.9, "the loss fell during the sweep");
        Assert.Equal(new LrFinderSweep(1e-5, 10, 60).LearningRateAt(5), result.Points[5].LearningRate);
    }

    [Fact]
    public void Run_Should_LeaveTheTorchRngStateAsItFoundIt_When_TheNetworkDrawsRandomNumbers()
    {
        using var model = Network();
        torch.manual_seed(11);
        using var before = torch.random.get_rng_state();

        LrFinderRunner.Run(model, Train, Loss, Options("--lr-find-steps", "10"), CancellationToken.None);

        using var after = torch.random.get_rng_state();
        Assert.Equal(before.data<byte>().ToArray(), after.data<byte>().ToArray());
    }

    [Fact]
    public void Run_Should_GiveTheSamePoints_When_RunTwiceFromTheSameStart()
    {
        IReadOnlyList<LrFinderPoint> Sweep()
        {
            using var model = Network();
            torch.manual_seed(5);
            return LrFinderRunner.Run(model, Train, Loss, Options("--lr-find-steps", "30", "--loader-workers", "3"), CancellationToken.None).Points;
        }

        var first = Sweep();
        var second = Sweep();

        Assert.Equal(first, second);
    }

    [Fact]
    public void Run_Should_StopEarly_When_TheLossDiverges()
    {
        using var model = Network();

        var result = LrFinderRunner.Run(model, Train, Loss, Options("--optimizer", "sgd", "--lr-find-start", "1e-3", "--lr-find-end", "1000", "--lr-find-steps", "80"), CancellationToken.None);

        Assert.True(result.Points.Count < 80, $"{result.Points.Count} points: the sweep ran past divergence");
    }

    [Fact]
    public void Run_Should_ThrowAndRestoreTheRng_When_Cancelled()
    {
        using var model = Network();
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        using var before = torch.random.get_rng_state();

        Assert.Throws<OperationCanceledException>(() => LrFinderRunner.Run(model, Train, Loss, Options(), cancelled.Token));

        using var after = torch.random.get_rng_state();
        Assert.Equal(before.data<byte>().ToArray(), after.data<byte>().ToArray());
    }

    public static TheoryData<string, int, int, int> Orders => new()
    {
        { "large set: the start of epoch 0's permutation", 100, 3, 8 },
        { "exactly one epoch", 24, 3, 8 },
        { "small set: the permutation repeated", 10, 4, 8 },
    };

    [Theory]
    [MemberData(nameof(Orders))]
    public void Order_Should_FollowEpochZerosPermutationWrapping_When_TheSetIsSmall(string name, int count, int steps, int batchSize)
    {
        var order = LrFinderRunner.Order(42, count, steps, batchSize);

        var permutation = EpochSampler.Permutation(42, 0, count);
        Assert.True(order.Length == steps * batchSize, name);
        Assert.True(order.Select((index, k) => index == permutation[k % count]).All(x => x), name);
    }
}
