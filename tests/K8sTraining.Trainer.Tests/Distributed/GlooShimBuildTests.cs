using System.Diagnostics;

namespace K8sTraining.Trainer.Tests.Distributed;

/// <summary>trainer/Native/gloo/build-gloo-shim.sh, the build step that makes libk8straining_gloo.so.</summary>
[Trait("Category", "Integration")]
public sealed class GlooShimBuildTests : IDisposable
{
    private const string Library = "libk8straining_gloo.so";

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "k8st-gloo-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public void BuildScript_Should_BuildTheCAbiOnceAndThenOnlyCopy_When_RunTwice()
    {
        var work = Path.Combine(_dir, "work");
        var output = Path.Combine(_dir, "out");

        Run(work, output);
        var built = File.GetLastWriteTimeUtc(Path.Combine(work, Library));
        File.Delete(Path.Combine(output, Library));
        Run(work, output);

        Assert.Equal(built, File.GetLastWriteTimeUtc(Path.Combine(work, Library)));
        Assert.Equal(File.ReadAllBytes(Path.Combine(work, Library)), File.ReadAllBytes(Path.Combine(output, Library)));
        // Only the C ABI is exported: Gloo's and the C++ runtime's symbols stay inside.
        var exported = Tool("nm", "-D", "--defined-only", Path.Combine(work, Library))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ')[^1])
            .Where(name => !name.StartsWith('_') || name.StartsWith("k8st_", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToArray();
        Assert.Equal(
            ["k8st_gloo_allreduce_sum_f32", "k8st_gloo_allreduce_sum_f64", "k8st_gloo_barrier", "k8st_gloo_broadcast", "k8st_gloo_connect", "k8st_gloo_destroy", "k8st_gloo_last_error"],
            exported);
    }

    [Fact]
    public void BuildOutput_Should_CarryTheShimBesideTorchSharp_When_Built()
    {
        Assert.True(
            File.Exists(Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", Library)),
            $"{Library} is not beside libLibTorchSharp.so in the test output (Directory.Build.targets, K8sTrainingGlooShimInOutput)");
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static void Run(string work, string output) =>
        Tool(RepositoryPaths.Of("trainer", "Native", "gloo", "build-gloo-shim.sh"), work, output);

    private static string Tool(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(120)), $"{file} did not finish within 120 s");
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', args)} exited {process.ExitCode}: {stderr.Result}");
        return stdout.Result;
    }
}
