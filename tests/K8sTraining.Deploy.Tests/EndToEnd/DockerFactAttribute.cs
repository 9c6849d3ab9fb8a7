using System.Diagnostics;

namespace K8sTraining.Deploy.Tests.EndToEnd;

/// <summary>
/// A fact that needs a Docker engine. Without one it is reported as skipped, with the reason, never as passed.
/// </summary>
public sealed class DockerFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> Unavailable = new(ProbeDocker);

    public DockerFactAttribute()
    {
        if (Unavailable.Value is { } reason)
        {
            Skip = $"needs a Docker engine for k3s (Testcontainers): {reason}";
        }
    }

    /// <summary>Null when `docker info` reaches an engine; otherwise why not.</summary>
    private static string? ProbeDocker()
    {
        try
        {
            var startInfo = new ProcessStartInfo("docker", ["info", "--format", "{{.ServerVersion}}"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            using var process = Process.Start(startInfo)!;
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(20)))
            {
                process.Kill(entireProcessTree: true);
                return "`docker info` did not answer within 20 s";
            }

            var firstError = stderr.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
            return process.ExitCode == 0 && stdout.Result.Trim().Length > 0
                ? null
                : $"`docker info` exited {process.ExitCode}: {firstError ?? "no engine"}";
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return $"no docker client on PATH ({e.Message})";
        }
    }
}
