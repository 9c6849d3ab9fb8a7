using System.Reflection;
using System.Text.RegularExpressions;
using K8sTraining.Contract;

namespace K8sTraining.Operator.Tests.Api;

/// <summary>
/// The contract between operator and trainer lives in contract/ alone: a name of it written as a literal in operator/ or
/// trainer/ lets a rename on one side still compile, so neither may spell one out.
/// </summary>
public sealed class ContractLiteralsTests
{
    private static readonly string[] ScannedFolders = ["operator", "training", "trainer"];

    /// <summary>What may not be written outside contract/, built from the contract itself.</summary>
    private static IReadOnlyList<(string What, Regex Pattern)> Forbidden { get; } = BuildForbidden();

    [Fact]
    [Trait("Category", "Unit")]
    public void Sources_Should_UseTheContractProject_When_TheyNameAContractLiteral()
    {
        var found = ScannedFolders
            .SelectMany(folder => Directory.EnumerateFiles(Path.Combine(RepositoryPaths.Root, folder), "*.cs", SearchOption.AllDirectories))
            .Where(file => !IsBuildOutput(file))
            .SelectMany(file => File.ReadLines(file).Select((line, i) => (File: Path.GetRelativePath(RepositoryPaths.Root, file), Line: i + 1, Text: line)))
            .SelectMany(l => Find(l.Text).Select(what => $"{l.File}:{l.Line}: {what}: {l.Text.Trim()}"))
            .ToList();

        Assert.True(found.Count == 0, $"{found.Count} contract literal(s) outside contract/ (use K8sTraining.Contract instead):\n{string.Join('\n', found)}");
    }

    [Theory]
    [Trait("Category", "Unit")]
    [InlineData("environment variable", """        Add("TRAINER_MODEL", t.Model);""", true)]
    [InlineData("environment variable in a message", """    const string Fix = "give --checkpoint-dir (TRAINER_CHECKPOINT_DIR) a writable directory";""", true)]
    [InlineData("progress metric", """        var step = Value("k8straining_trainer_global_step");""", true)]
    [InlineData("job label", """            new("job_namespace", ns),""", true)]
    [InlineData("checkpoint directory format", """    public static string DirectoryName(long globalStep) => $"step-{globalStep:D12}";""", true)]
    [InlineData("remote document name", """    public const string LatestFileName = "latest.json";""", true)]
    [InlineData("model name", """        "mlp" => new Mlp(),""", true)]
    [InlineData("optimizer name", """        var optimizer = Choice("--optimizer", "adamw", "sgd", "adamw");""", true)]
    [InlineData("termination status", """    public const string Completed = "completed";""", true)]
    [InlineData("termination message path", """    public const string TerminationLog = "/dev/termination-log";""", true)]
    [InlineData("termination message path in a help text", """        ("--termination-log", "FILE", "/dev/termination-log when writable", "where the report goes"),""", true)]
    [InlineData("a flag that contains the prefix", """        ("--step-size", "N", "one epoch", "step: optimizer steps between decays"),""", false)]
    [InlineData("doc comment", """/// <summary>Every flag may come from TRAINER_ plus its name; writes step-000000000042.</summary>""", false)]
    [InlineData("trailing comment", """        Add(TrainerEnvironment.JobName, name); // the trainer's TRAINER_JOB_NAME""", false)]
    [InlineData("through the contract", """        Add(TrainerEnvironment.Model, t.Model);""", false)]
    [InlineData("a word that merely contains a name", """        var mlpLayers = "mlp-large";""", false)]
    public void Find_Should_FlagAContractLiteral_When_ItIsWrittenInCode(string name, string line, bool expected)
    {
        Assert.True(Find(line).Any() == expected, $"{name}: {string.Join(", ", Find(line))}");
    }

    private static IEnumerable<string> Find(string line)
    {
        var code = CodeOf(line);
        return code.Length == 0 ? [] : Forbidden.Where(f => f.Pattern.IsMatch(code)).Select(f => f.What).Distinct();
    }

    /// <summary>The line without its comment: doc comments and comments say what the contract means, and may name it.</summary>
    private static string CodeOf(string line)
    {
        var trimmed = line.TrimStart();
        return trimmed.StartsWith("//", StringComparison.Ordinal) ? "" : Regex.Replace(line, @"(^|\s)//.*$", "");
    }

    private static List<(string What, Regex Pattern)> BuildForbidden()
    {
        var forbidden = new List<(string, Regex)>
        {
            // Any TRAINER_ variable, the contract's or a new one that should be added to it.
            ("TRAINER_* variable", Word(TrainerEnvironment.Prefix, suffix: "[A-Z0-9_]*")),
            // Not inside a longer word or flag (--step-size is the step schedule's flag, not a checkpoint name).
            ("checkpoint directory prefix", new Regex($"(?<![A-Za-z0-9_-]){Regex.Escape(CheckpointLayout.DirectoryPrefix)}")),
            ("checkpoint step format", new Regex($@"\bD{CheckpointLayout.StepDigits}\b")),
            ("termination message path", Word(TerminationMessage.DefaultPath)),
        };
        forbidden.AddRange(TrainerMetricNames.Progress.Select(m => ("progress metric name", Word(m))));
        forbidden.AddRange(new[] { CheckpointLayout.ManifestFileName, CheckpointLayout.LatestFileName, CheckpointLayout.OwnerFileName }.Select(f => ("checkpoint document name", Quoted(f))));
        forbidden.AddRange(Constants(typeof(JobMetricLabels)).Select(l => ("job metric label", Quoted(l))));
        forbidden.AddRange(Constants(typeof(TerminationStatuses)).Select(s => ("termination status", Quoted(s))));
        forbidden.AddRange(ModelNames.All.Concat(DatasetNames.All).Concat(OptimizerNames.All).Select(c => ("model, dataset or optimizer name", Quoted(c))));
        forbidden.AddRange(CollectiveBackends.All.Select(b => ("collective backend name", Quoted(b))));
        return forbidden;
    }

    private static Regex Word(string text, string suffix = "") => new($"(?<![A-Za-z0-9_]){Regex.Escape(text)}{suffix}(?![A-Za-z0-9_])");

    private static Regex Quoted(string text) => new($"\"{Regex.Escape(text)}\"");

    private static IEnumerable<string> Constants(Type type) =>
        type.GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(string))
            .Select(f => (string)f.GetRawConstantValue()!);

    private static bool IsBuildOutput(string file)
    {
        var relative = Path.GetRelativePath(RepositoryPaths.Root, file).Replace('\\', '/');
        return relative.Contains("/bin/", StringComparison.Ordinal) || relative.Contains("/obj/", StringComparison.Ordinal);
    }
}
