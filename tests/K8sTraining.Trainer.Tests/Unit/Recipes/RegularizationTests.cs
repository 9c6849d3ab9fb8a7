using K8sTraining.Training.Regularization;
using TorchSharp;
using static TorchSharp.torch;

namespace K8sTraining.Trainer.Tests.Unit.Recipes;

[Collection(K8sTraining.Trainer.Tests.Unit.Models.TorchRandomCollection.Name)]
[Trait("Category", "Unit")]
public sealed class RegularizationTests
{
    private static Tensor Batch() => arange(8 * 1 * 4 * 4, dtype: float32).reshape(8, 1, 4, 4);

    [Theory]
    [InlineData(0.4, 0.0)]
    [InlineData(0.0, 1.0)]
    [InlineData(0.4, 1.0)]
    public void Apply_Should_MixTheSameWay_When_TheSameStepIsReplayed(double mixup, double cutmix)
    {
        using var scope = NewDisposeScope();
        var mixing = new BatchMixing(mixup, cutmix);
        var target = arange(8, dtype: int64);

        var first = mixing.Apply(Batch(), target, new StepRandom(42, 1234));
        var replay = mixing.Apply(Batch(), target, new StepRandom(42, 1234));
        var next = mixing.Apply(Batch(), target, new StepRandom(42, 1235));

        Assert.Equal(first.Mode, replay.Mode);
        Assert.Equal(first.Lambda, replay.Lambda);
        Assert.True(first.Input.eq(replay.Input).all().item<bool>());
        Assert.True(first.TargetB.eq(replay.TargetB).all().item<bool>());
        Assert.False(first.Lambda == next.Lambda && first.Input.eq(next.Input).all().item<bool>(), "another step mixes differently");
    }

    [Fact]
    public void Apply_Should_BlendInputsByLambda_When_Mixup()
    {
        using var scope = NewDisposeScope();
        var input = Batch();
        var target = arange(8, dtype: int64);

        var mixed = new BatchMixing(0.4, 0).Apply(input, target, new StepRandom(7, 3));

        Assert.Equal(MixingModes.Mixup, mixed.Mode);
        var partner = input.index_select(0, mixed.TargetB);
        Assert.True(mixed.Input.allclose((input * mixed.Lambda) + (partner * (1 - mixed.Lambda)), rtol: 1e-5, atol: 1e-5));
    }

    [Fact]
    public void Apply_Should_PasteABoxAndWeightLabelsByKeptArea_When_CutMix()
    {
        using var scope = NewDisposeScope();
        var input = Batch();
        var target = arange(8, dtype: int64);

        for (var step = 0; step < 20; step++)
        {
            var mixed = new BatchMixing(0, 1.0).Apply(input, target, new StepRandom(7, step));
            var partner = input.index_select(0, mixed.TargetB);
            var fromSelf = mixed.Input.eq(input).to_type(float32);
            var fromPartner = mixed.Input.eq(partner).to_type(float32);
            // every pixel comes from the sample or its partner; the kept share is lambda
            Assert.True((fromSelf + fromPartner).ge(1).all().item<bool>());
            var changed = mixed.Input.ne(input).any(dim: 0).sum().item<long>();
            Assert.True(changed <= (long)Math.Round((1 - mixed.Lambda) * 16), $"changed {changed} pixels with lambda {mixed.Lambda}");
        }
    }

    [Fact]
    public void Apply_Should_LeaveTheBatch_When_ProbabilityIsZero()
    {
        using var scope = NewDisposeScope();
        var input = Batch();
        var mixed = new BatchMixing(0.4, 1.0, Probability: 0).Apply(input, arange(8, dtype: int64), new StepRandom(1, 1));

        Assert.Equal(MixingModes.None, mixed.Mode);
        Assert.Same(input, mixed.Input);
    }

    [Fact]
    public void Update_Should_AverageWeights_When_TheModelChanges()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(1);
        using var model = nn.Linear(2, 1);
        using var ema = new ExponentialMovingAverage(model, 0.9);
        var before = model.weight!.detach().clone();

        using (no_grad())
        {
            model.weight!.add_(1.0);
        }
        ema.Update();

        var shadow = ema.State.First(s => s.Name == "weight").Tensor;
        Assert.True(shadow.allclose(before + 0.1, rtol: 1e-6, atol: 1e-6));
        using (ema.SwapIn())
        {
            Assert.True(model.weight!.allclose(before + 0.1, rtol: 1e-6, atol: 1e-6));
        }
        Assert.True(model.weight!.allclose(before + 1.0, rtol: 1e-6, atol: 1e-6));
    }

    [Fact]
    public void NextBeta_Should_HaveTheBetaMean_When_DrawnOften()
    {
        var random = new StepRandom(5, 9);
        var draws = Enumerable.Range(0, 20000).Select(_ => random.NextBeta(0.4)).ToList();

        Assert.All(draws, d => Assert.InRange(d, 0.0, 1.0));
        Assert.InRange(draws.Average(), 0.48, 0.52);
        // Beta(0.4, 0.4) is U-shaped: most mass near 0 and 1
        Assert.True(draws.Count(d => d < 0.1 || d > 0.9) > draws.Count(d => d is > 0.4 and < 0.6) * 2);
    }
}
