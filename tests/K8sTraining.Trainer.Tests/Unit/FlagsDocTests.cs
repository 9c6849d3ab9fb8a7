using System.Text.RegularExpressions;
using K8sTraining.Training.Options;

namespace K8sTraining.Trainer.Tests.Unit;

/// <summary>trainer/README.md names every flag the parser knows, and its recipe table gives the parser's defaults.</summary>
[Trait("Category", "Unit")]
public sealed class FlagsDocTests
{
    private static readonly string Readme = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "trainer", "README.md"));

    [Fact]
    public void Readme_Should_NameEveryFlag_When_TheParserKnowsIt()
    {
        var missing = OptionsParser.Flags.Select(f => f.Flag).Where(flag => !Regex.IsMatch(Readme, $"`{Regex.Escape(flag)}[ `]")).ToList();

        Assert.True(missing.Count == 0, $"flags the parser knows but trainer/README.md does not name: {string.Join(", ", missing)}");
    }

    [Fact]
    public void RecipeTable_Should_GiveTheParsersDefaults_When_ItListsAFlag()
    {
        var rows = Regex.Matches(Readme, @"^\| `(?<flag>--[a-z-]+) [^`]*` \| (?<default>[^|]*) \|", RegexOptions.Multiline)
            .Select(m => (Flag: m.Groups["flag"].Value, Default: m.Groups["default"].Value.Trim().Replace("`", "", StringComparison.Ordinal)))
            .Where(r => r.Flag != "--lr")
            .ToList();

        Assert.True(rows.Count >= 28, $"the recipe table should list the recipe flags, found {rows.Count}");
        Assert.All(rows, r =>
        {
            var flag = Assert.Single(OptionsParser.Flags, f => f.Flag == r.Flag);
            Assert.Equal(flag.Default.Length == 0 ? "none" : flag.Default, r.Default);
        });
    }
}
