using K8sTraining.Contract;
using K8sTraining.Training.Optimization;
using static TorchSharp.torch;

namespace K8sTraining.Trainer.Tests.Unit.Recipes;

[Trait("Category", "Unit")]
public sealed class OptimizerSettingsTests
{
    [Theory]
    [InlineData(OptimizerNames.Sgd)]
    [InlineData(OptimizerNames.AdamW)]
    public void Apply_Should_SetTheStepsRateAndMomentum_When_TheScheduleCyclesMomentum(string name)
    {
        using var model = nn.Linear(3, 2);
        using var optimizer = new OptimizerSettings(name, 0.1, Momentum: 0.9).Create(model.parameters());

        OptimizerSettings.Apply(optimizer, 0.02, 0.85);

        Assert.All(optimizer.ParamGroups, g => Assert.Equal(0.02, g.LearningRate));
        Assert.Equal(0.85, OptimizerSettings.CurrentMomentum(optimizer));
    }

    [Fact]
    public void Apply_Should_KeepMomentum_When_TheScheduleLeavesItAlone()
    {
        using var model = nn.Linear(3, 2);
        using var optimizer = new OptimizerSettings(OptimizerNames.Sgd, 0.1, Momentum: 0.7, Nesterov: true, WeightDecay: 5e-4).Create(model.parameters());

        OptimizerSettings.Apply(optimizer, 0.05, null);

        Assert.Equal(0.7, OptimizerSettings.CurrentMomentum(optimizer));
    }
}
