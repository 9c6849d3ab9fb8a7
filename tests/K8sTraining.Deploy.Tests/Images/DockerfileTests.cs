using System.Text.Json;
using System.Xml.Linq;
using K8sTraining.Deploy.Tests.Support;

namespace K8sTraining.Deploy.Tests.Images;

/// <summary>
/// No Docker engine runs here, so the Dockerfiles are checked by reading them: how the image starts (signals), who it
/// runs as, and that the build stage copies everything the project builds from.
/// </summary>
[Trait("Category", "Unit")]
public sealed class DockerfileTests
{
    private const int AppUser = 1654; // the .NET images' "app" user, and the chart's runAsUser

    public static TheoryData<string, string, string> Images => new()
    {
        { "Dockerfile.trainer", "trainer/K8sTraining.Trainer.csproj", "/app/K8sTraining.Trainer.dll" },
        { "operator/Dockerfile", "operator/K8sTraining.Operator.csproj", "/app/K8sTraining.Operator.dll" },
        { "examples/custom-trainer/Dockerfile", "examples/custom-trainer/CustomTrainer.csproj", "/app/CustomTrainer.dll" },
        { "Dockerfile.checkpoint-sync", "checkpointsync/K8sTraining.CheckpointSync.csproj", "/app/K8sTraining.CheckpointSync.dll" },
    };

    [Theory]
    [MemberData(nameof(Images))]
    public void Dockerfile_Should_RunTheProgramAsPid1WithoutAShell_When_TheImageStarts(string dockerfile, string project, string dll)
    {
        _ = project;
        var final = Dockerfile.Load(RepositoryPaths.Of(dockerfile)).FinalStage;

        var entrypoint = Assert.Single(Dockerfile.Of(final, "ENTRYPOINT"));
        // the exec form (a JSON array): no /bin/sh -c in front to swallow SIGTERM
        var argv = JsonSerializer.Deserialize<string[]>(entrypoint.Arguments) ?? [];
        Assert.Equal(["dotnet", dll], argv);
        Assert.All(Dockerfile.Of(final, "CMD"), cmd => Assert.StartsWith("[", cmd.Arguments));
        Assert.DoesNotContain(Dockerfile.Of(final, "STOPSIGNAL"), s => s.Arguments != "SIGTERM");
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Dockerfile_Should_RunAsTheNumericNonRootUserTheChartExpects_When_TheImageStarts(string dockerfile, string project, string dll)
    {
        _ = (project, dll);
        var final = Dockerfile.Load(RepositoryPaths.Of(dockerfile)).FinalStage;

        var user = Dockerfile.Of(final, "USER").Last().Arguments;
        Assert.Equal($"{AppUser}:{AppUser}", user);
        var values = File.ReadAllText(Path.Combine(RepositoryPaths.Chart, "values.yaml"));
        Assert.Contains($"runAsUser: {AppUser}", values);
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Dockerfile_Should_BuildWithTheSdkAndShipOnlyTheRuntime_When_MultiStage(string dockerfile, string project, string dll)
    {
        _ = dll;
        var file = Dockerfile.Load(RepositoryPaths.Of(dockerfile));

        Assert.Equal(2, file.Stages.Count);
        Assert.StartsWith("mcr.microsoft.com/dotnet/sdk:10.0", file.ResolveFrom(file.Stages[0]));
        Assert.Matches(@"^mcr\.microsoft\.com/dotnet/(runtime|aspnet):10\.0", file.ResolveFrom(file.FinalStage));
        Assert.Contains(Dockerfile.Of(file.Stages[0], "RUN"), r => r.Arguments.StartsWith($"dotnet publish {project} -c Release", StringComparison.Ordinal));
        Assert.Contains(Dockerfile.Of(file.FinalStage, "COPY"), c => c.Arguments == "--from=build /app /app");
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Dockerfile_Should_CopyEveryFileTheProjectBuildsFrom_When_Building(string dockerfile, string project, string dll)
    {
        _ = dll;
        var build = Dockerfile.Load(RepositoryPaths.Of(dockerfile)).Stages[0];
        var sources = Dockerfile.Of(build, "COPY").SelectMany(c => c.Arguments.Split(' ')[..^1]).Select(p => p.TrimEnd('/')).ToList();
        // COPY's wildcards expand against the build context, like Directory.Build.* for .props and .targets
        var copied = sources.SelectMany(ExpandInRepository).ToHashSet();

        // the build settings every project imports, when the repository has them
        foreach (var setting in new[] { "global.json", "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props" })
        {
            if (File.Exists(RepositoryPaths.Of(setting)))
            {
                Assert.Contains(setting, copied);
            }
        }

        foreach (var source in sources)
        {
            var matches = ExpandInRepository(source).Where(DockerignoreAllows).ToList();
            Assert.True(matches.Count > 0, $"{dockerfile} copies {source}, which matches nothing in the build context (missing, or left out by .dockerignore)");
        }

        foreach (var directory in ProjectDirectories(project))
        {
            Assert.True(copied.Contains(directory), $"{project} builds from {directory}/, which {dockerfile} does not copy");
        }
    }

    [Fact]
    public void TrainerDockerfile_Should_SelectTheTorchBackendByBuildArgument_When_Building()
    {
        var file = Dockerfile.Load(RepositoryPaths.Of("Dockerfile.trainer"));
        var build = file.Stages[0];

        Assert.Contains(Dockerfile.Of(build, "ARG"), a => a.Arguments == "TORCH_BACKEND=cpu");
        var dotnetSteps = Dockerfile.Of(build, "RUN").Where(r => r.Arguments.StartsWith("dotnet ", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, dotnetSteps.Count); // restore and publish, both for the same backend
        Assert.All(dotnetSteps, r => Assert.Contains("-p:TorchBackend=${TORCH_BACKEND}", r.Arguments));
        // The library picks the TorchSharp package; the global property reaches it through the trainer's reference.
        var project = File.ReadAllText(RepositoryPaths.Of("training", "K8sTraining.Training.csproj"));
        Assert.Contains("TorchSharp-cuda-linux", project);
        Assert.Contains("'$(TorchBackend)' == 'cuda'", project);
    }

    [Fact]
    public void TrainerDockerfile_Should_InstallFashionMnistWhereTheExamplesReadIt_When_BuildArgumentIsOn()
    {
        var final = Dockerfile.Load(RepositoryPaths.Of("Dockerfile.trainer")).FinalStage;

        Assert.Contains(Dockerfile.Of(final, "ARG"), a => a.Arguments == "WITH_FASHION_MNIST=true");
        Assert.Contains(Dockerfile.Of(final, "RUN"), r => r.Arguments.Contains("apt-get install -y --no-install-recommends dataset-fashion-mnist")
            && r.Arguments.Contains("\"$WITH_FASHION_MNIST\" = \"true\""));
        Assert.Contains("dataPath: /usr/share/datasets/fashion-mnist", File.ReadAllText(RepositoryPaths.Of("examples", "fashion-mnist-s3.yaml")));
    }

    [Fact]
    public void PyTorchExampleDockerfile_Should_RunTrainPyAsPid1AsTheNonRootUserOnACudaPyTorchBase_When_TheImageStarts()
    {
        var file = Dockerfile.Load(RepositoryPaths.Of("examples", "pytorch", "Dockerfile"));
        var final = file.FinalStage;

        Assert.Matches(@"^pytorch/pytorch:2\.[0-9.]+-cuda12\.[0-9]+-cudnn9-runtime$", file.ResolveFrom(final));
        Assert.Equal(["python", "/app/train.py"], JsonSerializer.Deserialize<string[]>(Assert.Single(Dockerfile.Of(final, "ENTRYPOINT")).Arguments) ?? []);
        Assert.Contains(Dockerfile.Of(final, "COPY"), c => c.Arguments == "examples/pytorch/train.py /app/train.py");
        Assert.Equal($"{AppUser}:{AppUser}", Dockerfile.Of(final, "USER").Last().Arguments);
        Assert.DoesNotContain(Dockerfile.Of(final, "STOPSIGNAL"), s => s.Arguments != "SIGTERM");
    }

    [Fact]
    public void OperatorDockerfile_Should_ExposeThePortTheChartProbes_When_DefaultValues()
    {
        var final = Dockerfile.Load(RepositoryPaths.Of("operator", "Dockerfile")).FinalStage;

        Assert.Equal("8080", Assert.Single(Dockerfile.Of(final, "EXPOSE")).Arguments);
        Assert.Contains("httpPort: 8080", File.ReadAllText(Path.Combine(RepositoryPaths.Chart, "values.yaml")));
    }

    [Theory]
    [InlineData("trainer/bin/Release/net10.0/K8sTraining.Trainer.dll")]
    [InlineData("operator/obj/project.assets.json")]
    [InlineData(".local/publish/trainer/K8sTraining.Trainer.dll")]
    [InlineData("tools/node_modules/.bin/s3rver")]
    [InlineData("tests/K8sTraining.Deploy.Tests/K8sTraining.Deploy.Tests.csproj")]
    public void Dockerignore_Should_KeepLocalOutputsOutOfTheBuildContext_When_Building(string path)
    {
        Assert.False(DockerignoreAllows(path), $"{path} would be sent to the Docker build");
    }

    private static IEnumerable<string> ExpandInRepository(string source)
    {
        if (!source.Contains('*'))
        {
            return File.Exists(RepositoryPaths.Of(source)) || Directory.Exists(RepositoryPaths.Of(source)) ? [source] : [];
        }

        var directory = Path.GetDirectoryName(source) ?? "";
        return Directory.GetFiles(RepositoryPaths.Of(directory), Path.GetFileName(source))
            .Select(f => Path.GetRelativePath(RepositoryPaths.Root, f).Replace('\\', '/'));
    }

    /// <summary>Applies .dockerignore's patterns in order (the last match wins), enough for the patterns it uses.</summary>
    private static bool DockerignoreAllows(string path)
    {
        var allowed = true;
        foreach (var raw in File.ReadAllLines(RepositoryPaths.Of(".dockerignore")))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var negate = line.StartsWith('!');
            var pattern = (negate ? line[1..] : line).TrimEnd('/');
            if (Matches(pattern, path))
            {
                allowed = negate;
            }
        }

        return allowed;
    }

    private static bool Matches(string pattern, string path)
    {
        if (pattern == "*")
        {
            return true;
        }

        var segments = path.Split('/');
        if (pattern.StartsWith("**/", StringComparison.Ordinal))
        {
            var tail = pattern[3..];
            return segments.Any(s => Glob(tail, s));
        }

        // a pattern names a file or a folder and everything under it
        var parts = pattern.Split('/');
        return parts.Length <= segments.Length && parts.Select((p, i) => Glob(p, segments[i])).All(m => m);
    }

    private static bool Glob(string pattern, string segment) =>
        System.Text.RegularExpressions.Regex.IsMatch(segment, "^" + System.Text.RegularExpressions.Regex.Escape(pattern).Replace("\\*", "[^/]*") + "$");

    /// <summary>The project's folder and those of every project it references, transitively, relative to the root.</summary>
    private static IEnumerable<string> ProjectDirectories(string project)
    {
        var seen = new HashSet<string>();
        var queue = new Queue<string>([RepositoryPaths.Of(project)]);
        while (queue.TryDequeue(out var path))
        {
            var full = Path.GetFullPath(path);
            if (!seen.Add(full))
            {
                continue;
            }

            foreach (var reference in XDocument.Load(full).Descendants("ProjectReference"))
            {
                var include = reference.Attribute("Include")!.Value.Replace('\\', '/');
                queue.Enqueue(Path.Combine(Path.GetDirectoryName(full)!, include));
            }
        }

        return seen.Select(p => Path.GetRelativePath(RepositoryPaths.Root, Path.GetDirectoryName(p)!).Replace('\\', '/'));
    }
}
