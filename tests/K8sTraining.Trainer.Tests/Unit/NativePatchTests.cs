using System.Diagnostics;

namespace K8sTraining.Trainer.Tests.Unit;

/// <summary>trainer/Native/patch-libtorchsharp.sh, run on a copy of the pristine library from the NuGet cache.</summary>
[Trait("Category", "Integration")]
public sealed class NativePatchTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "k8st-native-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public void PatchScript_Should_PatchOnceAndThenChangeNothing_When_RunTwiceOnThisHost()
    {
        var pristine = PristineLibrary();
        var native = Path.Combine(_dir, "native");
        Directory.CreateDirectory(native);
        var lib = Path.Combine(native, "libLibTorchSharp.so");
        File.Copy(pristine, lib);
        var hostLacksVersion = !HostLibstdcxxHas("GLIBCXX_3.4.32");

        var first = RunScript(native);
        var afterFirst = File.ReadAllBytes(lib);
        var second = RunScript(native);

        if (hostLacksVersion)
        {
            Assert.StartsWith("K8sTraining: patched", first, StringComparison.Ordinal);
            Assert.Contains("Name: GLIBCXX_3.4.32  Flags: WEAK", Tool("readelf", "-V", lib), StringComparison.Ordinal);
            Assert.Contains("[libk8straining_iosinit.so]", Tool("readelf", "-d", lib), StringComparison.Ordinal);
            Assert.DoesNotContain("(GLIBCXX_3.4.32) _ZSt21ios_base_library_initv", Tool("objdump", "-T", lib), StringComparison.Ordinal);
            Assert.Contains("_ZSt21ios_base_library_initv", Tool("objdump", "-T", Path.Combine(native, "libk8straining_iosinit.so")), StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal(string.Empty, first);
            Assert.Equal(File.ReadAllBytes(pristine), afterFirst);
        }
        Assert.Equal(string.Empty, second);
        Assert.Equal(afterFirst, File.ReadAllBytes(lib));
    }

    [Fact]
    public void BuildOutput_Should_CarryLoadableTorch_When_BuiltOnThisHost()
    {
        var native = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native");
        if (!HostLibstdcxxHas("GLIBCXX_3.4.32"))
        {
            Assert.True(File.Exists(Path.Combine(native, "libk8straining_iosinit.so")), "the shim is not beside libLibTorchSharp.so");
        }
        using var t = TorchSharp.torch.ones(2, 2);
        Assert.Equal(4f, t.sum().item<float>());
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private string RunScript(string native) =>
        Tool("bash", Path.Combine(RepositoryRoot(), "trainer", "Native", "patch-libtorchsharp.sh"), native, Path.Combine(_dir, "work")).Trim();

    private static bool HostLibstdcxxHas(string version) =>
        Tool("bash", "-c", $"f=$(/sbin/ldconfig -p | awk '/libstdc\\+\\+\\.so\\.6 .*x86-64/ {{ print $NF; exit }}'); grep -qaF {version} \"$f\" && echo yes || echo no").Trim() == "yes";

    private static string PristineLibrary()
    {
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var path = Path.Combine(packages, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        return File.Exists(path) ? path : throw new FileNotFoundException("TorchSharp 0.107.0 is not in the NuGet cache.", path);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "K8sTraining.sln")))
            {
                return dir.FullName;
            }
        }
        throw new DirectoryNotFoundException("K8sTraining.sln not found above the test output.");
    }

    private static string Tool(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{file} {string.Join(' ', args)} exited {p.ExitCode}: {stderr}");
        return stdout.Result;
    }
}
