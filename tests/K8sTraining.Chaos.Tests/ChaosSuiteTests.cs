using K8sTraining.Chaos.Runner;

namespace K8sTraining.Chaos.Tests;

[Trait("Category", "Unit")]
public sealed class ChaosSuiteTests
{
    [Fact]
    public void Select_Should_RunEveryScenario_When_NoneIsNamed()
    {
        Assert.Equal(ChaosSuite.Scenarios().Select(s => s.Name), ChaosSuite.Select(" ").Select(s => s.Name));
    }

    [Fact]
    public void Select_Should_KeepTheNamedScenariosInSuiteOrder_When_CHAOS_ONLYNamesSome()
    {
        var all = ChaosSuite.Scenarios().Select(s => s.Name).ToList();
        var picked = ChaosSuite.Select($"{all[^1]}, {all[0]}").Select(s => s.Name);
        Assert.Equal([all[0], all[^1]], picked);
    }

    [Fact]
    public void Select_Should_NameTheKnownScenarios_When_ANameIsUnknown()
    {
        var e = Assert.Throws<ArgumentException>(() => ChaosSuite.Select("no such scenario"));
        Assert.Contains("'no such scenario'", e.Message, StringComparison.Ordinal);
        Assert.Contains($"'{ChaosSuite.Scenarios()[0].Name}'", e.Message, StringComparison.Ordinal);
    }
}
