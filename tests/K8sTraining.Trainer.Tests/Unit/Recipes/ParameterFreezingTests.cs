using K8sTraining.Training.Loop;
using K8sTraining.Training.Options;
using TorchSharp;

namespace K8sTraining.Trainer.Tests.Unit.Recipes;

[Trait("Category", "Unit")]
public sealed class ParameterFreezingTests
{
    [Fact]
    public void Apply_Should_FreezeMatchingParametersAndReturnTheRest_When_PrefixesMatch()
    {
        using var model = torch.nn.Sequential(("stem", torch.nn.Linear(4, 8)), ("head", torch.nn.Linear(8, 2)));

        var trainable = ParameterFreezing.Apply(model, ["stem"]);

        Assert.Equal(2, trainable.Count);
        var frozen = model.named_parameters().Where(p => !p.parameter.requires_grad).Select(p => p.name).Order().ToArray();
        Assert.Equal(["stem.bias", "stem.weight"], frozen);
    }

    [Fact]
    public void Apply_Should_RefuseNamingTheParameters_When_APrefixMatchesNothing()
    {
        using var model = torch.nn.Sequential(("stem", torch.nn.Linear(4, 8)), ("head", torch.nn.Linear(8, 2)));

        var e = Assert.Throws<InvalidInputException>(() => ParameterFreezing.Apply(model, ["backbone"]));

        Assert.Contains("'backbone' matches no parameter", e.Message, StringComparison.Ordinal);
        Assert.Contains("stem, head", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Apply_Should_Refuse_When_EveryParameterWouldFreeze()
    {
        using var model = torch.nn.Sequential(("stem", torch.nn.Linear(4, 8)), ("head", torch.nn.Linear(8, 2)));

        Assert.Throws<InvalidInputException>(() => ParameterFreezing.Apply(model, ["stem", "head"]));
    }
}
