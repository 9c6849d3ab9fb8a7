using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace K8sTraining.Metrics.Tests.Support;

/// <summary>Debian's promtool: checks PromQL syntax offline through `promtool check rules` on generated recording rules.</summary>
public static class Promtool
{
    public const string Binary = "/usr/bin/promtool";

    /// <summary>Runs promtool on one recording rule per expression; returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> CheckExpressionsAsync(IReadOnlyList<string> expressions)
    {
        if (!File.Exists(Binary))
        {
            throw new InvalidOperationException($"{Binary} is missing: run `make deps` (apt-get install prometheus).");
        }

        var rules = new StringBuilder("groups:\n  - name: dashboard\n    rules:\n");
        for (var i = 0; i < expressions.Count; i++)
        {
            rules.Append(System.Globalization.CultureInfo.InvariantCulture, $"      - record: dashboard:query{i}\n        expr: {JsonSerializer.Serialize(expressions[i])}\n");
        }

        var file = Path.Combine(Path.GetTempPath(), $"k8straining-rules-{Guid.NewGuid():N}.yml");
        await File.WriteAllTextAsync(file, rules.ToString());
        try
        {
            var info = new ProcessStartInfo(Binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            info.ArgumentList.Add("check");
            info.ArgumentList.Add("rules");
            info.ArgumentList.Add(file);
            using var process = Process.Start(info)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            return (process.ExitCode, await stdout + await stderr);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
