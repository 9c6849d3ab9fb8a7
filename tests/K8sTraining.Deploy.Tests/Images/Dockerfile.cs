using System.Text.RegularExpressions;

namespace K8sTraining.Deploy.Tests.Images;

/// <summary>One instruction of a Dockerfile, continuation lines joined: "COPY", "a b c".</summary>
public sealed record DockerInstruction(string Keyword, string Arguments);

/// <summary>A Dockerfile read as its stages, enough to check what it builds and how the image starts.</summary>
public sealed partial class Dockerfile
{
    private Dockerfile(IReadOnlyList<IReadOnlyList<DockerInstruction>> stages, IReadOnlyList<DockerInstruction> globalArgs)
    {
        Stages = stages;
        GlobalArgs = globalArgs;
    }

    /// <summary>Each stage's instructions, starting with its FROM.</summary>
    public IReadOnlyList<IReadOnlyList<DockerInstruction>> Stages { get; }

    /// <summary>The ARGs before the first FROM (usable in FROM lines).</summary>
    public IReadOnlyList<DockerInstruction> GlobalArgs { get; }

    public IReadOnlyList<DockerInstruction> FinalStage => Stages[^1];

    public static Dockerfile Load(string path)
    {
        var instructions = new List<DockerInstruction>();
        var pending = "";
        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.TrimEnd();
            if (line.TrimStart().StartsWith('#') || line.Length == 0)
            {
                continue;
            }

            if (line.EndsWith('\\'))
            {
                pending += line[..^1] + " ";
                continue;
            }

            var whole = (pending + line).Trim();
            pending = "";
            var space = whole.IndexOf(' ');
            instructions.Add(new DockerInstruction(whole[..space].ToUpperInvariant(), Spaces().Replace(whole[(space + 1)..], " ").Trim()));
        }

        var globalArgs = instructions.TakeWhile(i => i.Keyword != "FROM").ToList();
        var stages = new List<List<DockerInstruction>>();
        foreach (var instruction in instructions.Skip(globalArgs.Count))
        {
            if (instruction.Keyword == "FROM")
            {
                stages.Add([]);
            }

            stages[^1].Add(instruction);
        }

        return new Dockerfile(stages, globalArgs);
    }

    /// <summary>The default of a global ARG, to resolve ${NAME} in FROM lines.</summary>
    public string ResolveFrom(IReadOnlyList<DockerInstruction> stage)
    {
        var image = stage[0].Arguments.Split(' ')[0];
        foreach (var arg in GlobalArgs.Where(a => a.Keyword == "ARG" && a.Arguments.Contains('=')))
        {
            var (name, value) = (arg.Arguments[..arg.Arguments.IndexOf('=')], arg.Arguments[(arg.Arguments.IndexOf('=') + 1)..]);
            image = image.Replace("${" + name + "}", value).Replace("$" + name, value);
        }

        return image;
    }

    public static IEnumerable<DockerInstruction> Of(IReadOnlyList<DockerInstruction> stage, string keyword) =>
        stage.Where(i => i.Keyword == keyword);

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();
}
