using K8sTraining.Training.Deadlines;
using K8sTraining.Training.Options;

namespace K8sTraining.Trainer.Tests.Unit.Deadlines;

[Trait("Category", "Unit")]
public sealed class DeadlineInstantTests
{
    [Theory]
    [InlineData("2026-11-30T22:00:00Z", "2026-11-30T22:00:00.0000000+00:00")]
    [InlineData("2026-11-30T23:30:00+01:30", "2026-11-30T22:00:00.0000000+00:00")]
    [InlineData("2026-11-30t22:00:00.250z", "2026-11-30T22:00:00.2500000+00:00")]
    public void Parse_Should_GiveTheUtcInstant_When_TheValueIsRfc3339(string text, string utc)
    {
        var instant = DeadlineInstant.Parse(text, "--deadline");

        Assert.Equal(utc, instant.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(TimeSpan.Zero, instant.Offset);
    }

    [Theory]
    [InlineData("2026-11-30 22:00:00")]
    [InlineData("2026-11-30T22:00:00")]
    [InlineData("2026-13-30T22:00:00Z")]
    [InlineData("tomorrow")]
    [InlineData("1764540000")]
    public void Parse_Should_ExitTwoNamingTheFlagAndTheForm_When_TheValueIsNotRfc3339WithAnOffset(string text)
    {
        var e = Assert.Throws<OptionsException>(() => OptionsParser.Parse(["--deadline", text], _ => null));

        Assert.StartsWith($"--deadline: '{text}' is not allowed; allowed: an RFC 3339 instant with its offset", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_Should_ReadTheDeadline_When_TheOperatorSetsTheVariable()
    {
        var options = OptionsParser.Parse([], name => name == K8sTraining.Contract.TrainerEnvironment.Deadline ? "2026-11-30T22:00:00Z" : null);

        Assert.Equal(new DateTimeOffset(2026, 11, 30, 22, 0, 0, TimeSpan.Zero), options.Deadline);
    }
}
