using System.Text.RegularExpressions;
using K8sTraining.Operator.Runtime;

namespace K8sTraining.Operator.Tests.Runtime;

[Trait("Category", "Unit")]
public sealed partial class EventNamesTests
{
    // 2026-11-30 in Unix nanoseconds: 16 hexadecimal digits, as client-go's %x of t.UnixNano() gives today.
    private const long Suffix = 0x187c_9a3b_2f1e_4d5cL;

    public static TheoryData<string, string> Names => new()
    {
        { "one character", "a" },
        { "236 characters (room for the suffix)", new string('a', 236) },
        { "237 characters", new string('a', 237) },
        { "252 characters", new string('a', 252) },
        { "253 characters (the longest name)", new string('a', 253) },
        { "252 characters, a dot where it is cut", new string('a', 235) + "." + new string('b', 16) },
        { "252 characters, a dash where it is cut", new string('a', 234) + "--" + new string('b', 16) },
        { "dots and dashes before the cut", new string('a', 233) + "-.-" + new string('b', 17) },
    };

    [Theory]
    [MemberData(nameof(Names))]
    public void For_Should_GiveAValidUniqueEventName_When_TheObjectNameIs(string because, string objectName)
    {
        var name = EventNames.For(objectName, Suffix);

        Assert.True(name.Length <= 253, $"{because}: {name.Length} characters");
        Assert.Matches(DnsSubdomain(), name);
        Assert.NotEqual(objectName, name);
        Assert.EndsWith(".187c9a3b2f1e4d5c", name, StringComparison.Ordinal);
        var head = name[..^".187c9a3b2f1e4d5c".Length];
        Assert.StartsWith(head, objectName, StringComparison.Ordinal);
    }

    [Fact]
    public void For_Should_KeepTheWholeName_When_ItFits()
    {
        Assert.Equal("mnist.187c9a3b2f1e4d5c", EventNames.For("mnist", Suffix));
    }

    [Fact]
    public void ForNow_Should_GiveTwoNames_When_TwoEventsShareAClockTick()
    {
        var now = DateTimeOffset.Parse("2026-11-30T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        var longName = new string('a', 253);

        var first = EventNames.ForNow(longName, now);
        var second = EventNames.ForNow(longName, now);

        Assert.NotEqual(first, second);
        Assert.All([first, second], n => Assert.True(n.Length <= 253));
    }

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex DnsSubdomain();
}
