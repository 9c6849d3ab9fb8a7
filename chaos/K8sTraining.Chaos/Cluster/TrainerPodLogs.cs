using System.Globalization;
using System.Text.RegularExpressions;
using K8sTraining.Contract;

namespace K8sTraining.Chaos.Cluster;

/// <summary>
/// The trainer logs the local cluster's node agents keep (<c>nodes/NODE/pods/NS_POD_UID/containers/trainer/N.log</c>
/// under the cluster's state directory), read while the trainer may still write them: how far a trainer got and where
/// it resumed.
/// </summary>
public static partial class TrainerPodLogs
{
    /// <summary>The trainer log of a pod, or "" while there is none.</summary>
    public static string Read(string stateDirectory, string ns, string pod)
    {
        var nodes = Path.Combine(stateDirectory, "nodes");
        if (!Directory.Exists(nodes))
        {
            return "";
        }
        var file = Directory.EnumerateFiles(nodes, "*.log", SearchOption.AllDirectories)
            .FirstOrDefault(f => f.Contains($"{ns}_{pod}_", StringComparison.Ordinal) && TrainerLog().IsMatch(f));
        if (file is null)
        {
            return "";
        }
        try
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
        catch (IOException)
        {
            return "";
        }
    }

    /// <summary>The termination message the trainer of a pod wrote (its termination-log file), or null while there is none.</summary>
    public static TerminationMessage? Termination(string stateDirectory, string ns, string pod)
    {
        var nodes = Path.Combine(stateDirectory, "nodes");
        var directory = Directory.Exists(nodes)
            ? Directory.EnumerateDirectories(nodes, $"{ns}_{pod}_*", SearchOption.AllDirectories).FirstOrDefault()
            : null;
        var file = directory is null ? null : Path.Combine(directory, "containers", "trainer", "termination-log");
        try
        {
            return file is not null && File.Exists(file) ? TerminationMessage.TryParse(File.ReadAllText(file)) : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>The newest global step the log reports trained (0: none yet).</summary>
    public static long LastStep(string log) =>
        Newest(GlobalStep(), log);

    /// <summary>The global step the trainer resumed at, or null while it has not said (or started fresh).</summary>
    public static long? ResumedAt(string log) =>
        Resumed().Match(log) is { Success: true } m ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;

    /// <summary>The newest global step whose checkpoint the trainer queued for upload (0: none yet).</summary>
    public static long NewestQueued(string log) => Newest(QueuedForUpload(), log);

    /// <summary>The newest global step whose checkpoint the trainer committed to S3 (0: none yet).</summary>
    public static long NewestCommitted(string log) => Newest(CommittedToS3(), log);

    private static long Newest(Regex pattern, string log) =>
        pattern.Matches(log).Select(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).DefaultIfEmpty(0).Max();

    [GeneratedRegex(@"containers[/\\]trainer[/\\]\d+\.log$")]
    private static partial Regex TrainerLog();

    [GeneratedRegex(@"\(global (\d+)/")]
    private static partial Regex GlobalStep();

    [GeneratedRegex(@"Resuming at epoch \d+, step \d+ of epoch \(global step (\d+)\)")]
    private static partial Regex Resumed();

    [GeneratedRegex(@"Queued step-(\d+) for upload")]
    private static partial Regex QueuedForUpload();

    [GeneratedRegex(@"Committed \S*step-(\d+) \(")]
    private static partial Regex CommittedToS3();
}
