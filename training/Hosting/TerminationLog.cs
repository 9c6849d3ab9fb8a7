using K8sTraining.Contract;

namespace K8sTraining.Training.Hosting;

/// <summary>Writes the termination report where Kubernetes reads it (terminationMessagePath).</summary>
public static class TerminationLog
{
    /// <summary>The explicit path, else /dev/termination-log when it can be written, else none.</summary>
    public static string? ResolvePath(string? configured)
    {
        if (!string.IsNullOrEmpty(configured))
        {
            return configured;
        }
        try
        {
            using var probe = new FileStream(TerminationMessage.DefaultPath, FileMode.Open, FileAccess.Write);
            return TerminationMessage.DefaultPath;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Writes the report as one line, replacing what was there; failures are reported but never thrown.</summary>
    public static void Write(string? path, TerminationMessage report)
    {
        if (path is null)
        {
            return;
        }
        try
        {
            using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read);
            using var writer = new StreamWriter(stream);
            writer.WriteLine(report.ToJsonLine());
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"warning: could not write the termination log {path}: {e.Message}");
        }
    }
}
