namespace K8sTraining.Chaos.Runner;

/// <summary>Every log, termination message and /metrics scrape the suite kept must not contain the S3 secret's value.</summary>
public static class SecretsScan
{
    public static ScenarioResult Run(ChaosContext context)
    {
        var result = new ScenarioResult("secrets scan");
        foreach (var (source, text) in context.AllProduced)
        {
            result.Runs++;
            if (text.Contains(context.Secret, StringComparison.Ordinal))
            {
                var at = text.IndexOf(context.Secret, StringComparison.Ordinal);
                var line = text[Math.Max(0, at - 120)..Math.Min(text.Length, at + context.Secret.Length + 40)];
                result.Violation($"the S3 secret appears in {source}: ...{line.Replace(context.Secret, "<SECRET>", StringComparison.Ordinal)}...");
            }
        }
        result.Notes.Add($"{result.Runs} texts scanned (logs, termination messages, /metrics scrapes)");
        return result;
    }
}
