using System.Text.RegularExpressions;

namespace K8sTraining.Operator.Tests.Conventions;

/// <summary>
/// `make test-unit` runs `--filter Category=Unit`: a test without a category silently drops out of that loop, so every
/// test in every test project must say which loop it belongs to, on its class or on the method itself.
/// </summary>
[Trait("Category", "Unit")]
public sealed partial class TestCategoryTests
{
    [Fact]
    public void Tests_Should_CarryAUnitOrIntegrationCategory_When_DeclaredInAnyTestProject()
    {
        var files = Directory.EnumerateFiles(Path.Combine(RepositoryPaths.Root, "tests"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToList();

        var uncategorized = files.SelectMany(f => Uncategorized(File.ReadAllLines(f))
                .Select(test => $"{Path.GetRelativePath(RepositoryPaths.Root, f)}: {test}"))
            .ToList();

        Assert.True(files.Count > 50, $"expected the test sources under tests/, found {files.Count} files");
        Assert.True(uncategorized.Count == 0,
            "tests without [Trait(\"Category\", \"Unit\")] or [Trait(\"Category\", \"Integration\")] on the method or its class:\n"
            + string.Join("\n", uncategorized));
    }

    [Theory]
    [InlineData("on the class", "[Trait(\"Category\", \"Unit\")]\npublic sealed class A\n{\n    [Fact]\n    public void T() { }\n}", 0)]
    [InlineData("on the method", "public sealed class A\n{\n    [Fact]\n    [Trait(\"Category\", \"Integration\")]\n    public void T() { }\n}", 0)]
    [InlineData("above the test attribute", "public sealed class A\n{\n    [Trait(\"Category\", \"Integration\")]\n    [Theory]\n    [InlineData(1)]\n    public void T(int x) { }\n}", 0)]
    [InlineData("missing", "public sealed class A\n{\n    [Fact]\n    public void T() { }\n}", 1)]
    [InlineData("another class's trait does not count", "[Trait(\"Category\", \"Unit\")]\npublic sealed class A\n{\n}\n\npublic sealed class B\n{\n    [Fact]\n    public void T() { }\n}", 1)]
    [InlineData("an unknown category", "[Trait(\"Category\", \"Slow\")]\npublic sealed class A\n{\n    [Fact]\n    public void T() { }\n}", 1)]
    public void Uncategorized_Should_FindTheTestsWithoutACategory_When_GivenSource(string because, string source, int expected)
    {
        Assert.True(expected == Uncategorized(source.Split('\n')).Count, because);
    }

    /// <summary>The test methods in one source file that have no Unit/Integration category on themselves or their class.</summary>
    private static List<string> Uncategorized(IReadOnlyList<string> lines)
    {
        var missing = new List<string>();
        var classCategorized = false;
        for (var i = 0; i < lines.Count; i++)
        {
            if (ClassDeclaration().IsMatch(lines[i]))
            {
                classCategorized = AttributesAbove(lines, i).Any(IsCategory);
                continue;
            }

            if (!TestAttribute().IsMatch(lines[i]))
            {
                continue;
            }

            // The attribute block of this method: the lines above and below the [Fact]/[Theory] that are attributes.
            var end = i;
            while (end + 1 < lines.Count && lines[end + 1].TrimStart().StartsWith('['))
            {
                end++;
            }

            var attributes = AttributesAbove(lines, i).Concat(lines.Skip(i).Take(end - i + 1));
            if (!classCategorized && !attributes.Any(IsCategory))
            {
                var signature = end + 1 < lines.Count ? lines[end + 1].Trim() : "?";
                missing.Add(signature);
            }

            i = end;
        }

        return missing;
    }

    private static IEnumerable<string> AttributesAbove(IReadOnlyList<string> lines, int index)
    {
        for (var j = index - 1; j >= 0 && lines[j].TrimStart().StartsWith('['); j--)
        {
            yield return lines[j];
        }
    }

    private static bool IsCategory(string line) => CategoryTrait().IsMatch(line);

    [GeneratedRegex("""^(public |internal )?(sealed |static |abstract )*(partial )?class \w+""")]
    private static partial Regex ClassDeclaration();

    [GeneratedRegex("""^\s*\[(Fact|Theory)\b""")]
    private static partial Regex TestAttribute();

    [GeneratedRegex("""\[Trait\("Category", "(Unit|Integration)"\)\]""")]
    private static partial Regex CategoryTrait();
}
