namespace K8sTraining.Operator.Tests.Conventions;

[Trait("Category", "Unit")]
public sealed class TestSeedTests
{
    [Theory]
    [InlineData("unset: a fresh seed", null, 77)]
    [InlineData("empty: a fresh seed", "", 77)]
    [InlineData("set: replays that seed", "12345", 12345)]
    [InlineData("set with spaces", " 42 ", 42)]
    [InlineData("negative seeds are seeds too", "-3", -3)]
    public void Resolve_Should_ReplayTheSeedFromTheVariable_When_ItIsSet(string because, string? variable, int expected)
    {
        Assert.True(expected == TestSeed.Resolve(variable, () => 77), because);
    }

    [Fact]
    public void Resolve_Should_Fail_When_TheVariableIsNotANumber()
    {
        var error = Assert.Throws<ArgumentException>(() => TestSeed.Resolve("abc", () => 77));
        Assert.Contains(TestSeed.Variable, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_Should_PrintTheSeedAndReplayTheSameNumbers_When_TheSeedIsSet()
    {
        var output = new RecordingOutput();
        var previous = Environment.GetEnvironmentVariable(TestSeed.Variable);
        try
        {
            Environment.SetEnvironmentVariable(TestSeed.Variable, "2026");
            var random = TestSeed.Create(output);
            Assert.Equal(new Random(2026).Next(), random.Next());
        }
        finally
        {
            Environment.SetEnvironmentVariable(TestSeed.Variable, previous);
        }

        Assert.Contains("K8STRAINING_TEST_SEED=2026", Assert.Single(output.Lines), StringComparison.Ordinal);
    }

    private sealed class RecordingOutput : Xunit.Abstractions.ITestOutputHelper
    {
        public List<string> Lines { get; } = [];

        public void WriteLine(string message) => Lines.Add(message);

        public void WriteLine(string format, params object[] args) => Lines.Add(string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args));
    }
}
