using System.Globalization;
using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using K8sTraining.Contract;

namespace K8sTraining.Operator.Tests.Api;

/// <summary>
/// docs/trainer-contract.md is the contract for people, contract/ its C# form: every variable, exit code, status,
/// reason, progress metric and the termination message's JSON Schema must agree both ways, so neither can drift.
/// </summary>
[Trait("Category", "Unit")]
public sealed partial class TrainerContractDocTests
{
    private static readonly string Doc = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "docs", "trainer-contract.md"));

    [Fact]
    public void Doc_Should_ListEveryContractVariable_When_ComparedWithTrainerEnvironment()
    {
        var documented = TableRows("Environment").Select(r => Unquote(r[0])).ToList();

        Assert.Equal(TrainerEnvironment.All.Order(StringComparer.Ordinal), documented.Order(StringComparer.Ordinal));
        Assert.Equal(documented.Count, documented.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Doc_Should_GiveEveryExitCodeItsNumber_When_ComparedWithTrainerExitCodes()
    {
        var documented = TableRows("Exit codes").Select(r => (Code: int.Parse(r[0], CultureInfo.InvariantCulture), Name: Unquote(r[1]))).ToList();
        var code = Constants<int>(typeof(TrainerExitCodes)).Select(c => (Code: c.Value, c.Name)).ToList();

        Assert.Equal(code.OrderBy(c => c.Code), documented.OrderBy(c => c.Code));
    }

    [Fact]
    public void Doc_Should_ListEveryStatusAndReason_When_ComparedWithTheContract()
    {
        Assert.Equal(Constants<string>(typeof(TerminationStatuses)).Select(c => c.Value).Order(), TableRows("The termination message", 0).Select(r => Unquote(r[0])).Order());
        Assert.Equal(Constants<string>(typeof(TerminationReasons)).Select(c => c.Value).Order(), TableRows("The termination message", 1).Select(r => Unquote(r[0])).Order());
    }

    [Fact]
    public void Doc_Should_ListEveryProgressMetric_When_ComparedWithTrainerMetricNames()
    {
        Assert.Equal(TrainerMetricNames.Progress.Order(), TableRows("What it may do").Select(r => Unquote(r[0])).Order());
        Assert.All(Constants<string>(typeof(JobMetricLabels)), l => Assert.Contains($"`{l.Value}`", Doc, StringComparison.Ordinal));
    }

    [Fact]
    public void Schema_Should_DescribeTheTerminationMessageField_ByField_When_ComparedWithTheRecord()
    {
        var schema = JsonNode.Parse(SchemaBlock().Match(Doc).Groups["json"].Value)!.AsObject();
        var problems = new List<string>();

        Compare(typeof(TerminationMessage), schema, "", problems);
        Assert.Equal(
            [.. Constants<string>(typeof(TerminationStatuses)).Select(c => c.Value).Order(), null],
            schema["properties"]!["status"]!["enum"]!.AsArray().Select(n => (string?)n).OrderBy(v => v is null).ThenBy(v => v, StringComparer.Ordinal));
        Assert.Equal(
            [.. Constants<string>(typeof(TerminationReasons)).Select(c => c.Value).Order(), null],
            schema["properties"]!["reason"]!["enum"]!.AsArray().Select(n => (string?)n).OrderBy(v => v is null).ThenBy(v => v, StringComparer.Ordinal));
        Assert.Empty(problems);
    }

    [Fact]
    public void Example_Should_ParseAsATerminationMessage_When_TakenFromTheDoc()
    {
        var line = Regex.Match(Doc, "For example: `(?<json>\\{.*\\})`").Groups["json"].Value;

        var message = TerminationMessage.Parse(line)!;

        Assert.Equal((TerminationStatuses.Preempted, 1200L, true), (message.Status, message.GlobalStep, message.CheckpointUploaded));
        Assert.Equal(new TerminationMessage { Status = message.Status, GlobalStep = 1200, Epoch = 2, StepInEpoch = 262, Checkpoint = message.Checkpoint, CheckpointUploaded = true, Message = message.Message }.ToJsonLine(), line);
    }

    [Fact]
    public void Compare_Should_ReportAFieldMissingFromTheSchema_When_TheRecordHasIt()
    {
        // Guards the guard.
        var schema = JsonNode.Parse(SchemaBlock().Match(Doc).Groups["json"].Value)!.AsObject();
        schema["properties"]!.AsObject().Remove("testAccuracy");
        var problems = new List<string>();

        Compare(typeof(TerminationMessage), schema, "", problems);

        Assert.Contains(problems, p => p.Contains("testAccuracy", StringComparison.Ordinal));
    }

    private static void Compare(Type type, JsonObject schema, string path, List<string> problems)
    {
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(p => (Property: p, Name: p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name))
            .Where(p => p.Name is not null)
            .ToDictionary(p => p.Name!, p => p.Property.PropertyType);
        var documented = schema["properties"]!.AsObject();
        foreach (var name in properties.Keys.Except(documented.Select(p => p.Key)))
        {
            problems.Add($"{path}{name}: in {type.Name} but not in the schema");
        }

        foreach (var name in documented.Select(p => p.Key).Except(properties.Keys))
        {
            problems.Add($"{path}{name}: in the schema but not in {type.Name}");
        }

        foreach (var (name, clr) in properties)
        {
            if (documented[name] is not JsonObject field)
            {
                continue;
            }

            var underlying = Nullable.GetUnderlyingType(clr) ?? clr;
            var expected = underlying == typeof(string) ? "string"
                : underlying == typeof(long) || underlying == typeof(int) ? "integer"
                : underlying == typeof(bool) ? "boolean"
                : underlying == typeof(double) ? "number"
                : typeof(System.Collections.IEnumerable).IsAssignableFrom(underlying) ? "array"
                : "object";
            var types = field["type"] is JsonArray many ? many.Select(t => (string?)t).ToList() : [(string?)field["type"]];
            if (!types.Contains(expected))
            {
                problems.Add($"{path}{name}: {clr.Name} but schema type {string.Join("|", types)}");
            }

            // Nullable in C# (a trainer may leave it out or write null) must be nullable in the schema, and the other way.
            var nullableInCSharp = clr.IsClass || Nullable.GetUnderlyingType(clr) is not null;
            var nullableRecordParameter = type == typeof(ResumePoint) && clr == typeof(string);
            if ((nullableInCSharp && type == typeof(TerminationMessage) || nullableRecordParameter) != types.Contains("null"))
            {
                problems.Add($"{path}{name}: nullable {nullableInCSharp} in C# but schema type {string.Join("|", types)}");
            }

            if (expected == "object")
            {
                Compare(underlying, field, $"{path}{name}.", problems);
            }
        }
    }

    /// <summary>The rows of the <paramref name="index"/>th table under the heading <paramref name="heading"/>, cells trimmed.</summary>
    private static List<string[]> TableRows(string heading, int index = 0)
    {
        var start = Regex.Match(Doc, $"^#+ {Regex.Escape(heading)}$", RegexOptions.Multiline);
        Assert.True(start.Success, $"docs/trainer-contract.md has no heading '{heading}'");
        var section = Doc[(start.Index + start.Length)..];
        var next = Regex.Match(section, "^#+ ", RegexOptions.Multiline);
        section = next.Success ? section[..next.Index] : section;
        var tables = Regex.Split(section, "\n(?!\\|)").Select(t => t.Trim()).Where(t => t.StartsWith('|')).ToList();
        return tables[index].Split('\n').Skip(2)
            .Select(l => l.Trim().Trim('|').Split('|').Select(c => c.Trim()).ToArray())
            .ToList();
    }

    private static string Unquote(string cell) => cell.Trim('`');

    private static IEnumerable<(string Name, T Value)> Constants<T>(Type type) =>
        type.GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(T))
            .Select(f => (f.Name, (T)f.GetRawConstantValue()!));

    [GeneratedRegex("```json\\n(?<json>.*?)\\n```", RegexOptions.Singleline)]
    private static partial Regex SchemaBlock();
}
