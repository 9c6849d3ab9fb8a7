using System.Globalization;
using System.Text.Json;
using K8sTraining.TestSupport;

namespace K8sTraining.Benchmarks;

/// <summary>One PyTorch measurement from bench/pytorch/cnn_bench.py: the steady-state rates and the torch version.</summary>
internal sealed record PythonTorchResult(string TorchVersion, double SamplesPerSecond, double SamplesPerCpuSecond);

/// <summary>
/// Runs bench/pytorch/cnn_bench.py with Debian's python3-torch (/usr/bin/python3: a python on PATH, such as a pyenv
/// shim, may not see Debian's dist-packages). scripts/install-bench-deps.sh installs it; `make bench` calls that.
/// </summary>
internal static class PythonTorch
{
    public const string Python = "/usr/bin/python3";

    /// <summary>Null when python3-torch is importable, else why not and how to fix it.</summary>
    public static async Task<string?> WhyUnavailableAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(Python))
        {
            return $"{Python} is missing: run scripts/install-bench-deps.sh (apt-get install python3-torch)";
        }
        var (code, _, error) = await RunAsync(["-c", "import torch"], cancellationToken).ConfigureAwait(false);
        return code == 0 ? null : $"{Python} cannot import torch ({error.Trim()}): run scripts/install-bench-deps.sh (apt-get install python3-torch)";
    }

    public static async Task<PythonTorchResult> MeasureAsync(string repositoryRoot, string model, int batchSize, int warmupSteps, int steps, CancellationToken cancellationToken)
    {
        var c = CultureInfo.InvariantCulture;
        var script = Path.Combine(repositoryRoot, "bench", "pytorch", "cnn_bench.py");
        var (code, output, error) = await RunAsync([script, "--model", model, "--batch-size", batchSize.ToString(c), "--warmup-steps", warmupSteps.ToString(c), "--steps", steps.ToString(c), "--threads", "1"], cancellationToken).ConfigureAwait(false);
        if (code != 0)
        {
            throw new InvalidOperationException($"{script} exited {code}: {error.Trim()}");
        }
        using var json = JsonDocument.Parse(output.Trim().Split('\n')[^1]);
        var root = json.RootElement;
        return new PythonTorchResult(root.GetProperty("torch").GetString() ?? "?", root.GetProperty("samples_per_second").GetDouble(), root.GetProperty("samples_per_cpu_second").GetDouble());
    }

    // One thread, as the trainer's --threads 1; the repository's process runner captures both streams.
    private static async Task<(int Code, string Output, string Error)> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var result = await ProcessRunner.RunAsync(Python, args, new Dictionary<string, string> { ["OMP_NUM_THREADS"] = "1" }, TimeSpan.FromMinutes(30), cancellationToken).ConfigureAwait(false);
        return (result.ExitCode, result.StandardOutput, result.StandardError);
    }
}
