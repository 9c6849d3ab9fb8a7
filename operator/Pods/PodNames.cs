using System.Security.Cryptography;
using System.Text;

namespace K8sTraining.Operator.Pods;

/// <summary>Deterministic names: one per (job, attempt), so a repeated create is a 409, never a second pod.</summary>
public static class PodNames
{
    public const int MaxLength = 63;

    public static string ForAttempt(string jobName, int attempt)
    {
        var suffix = $"-attempt-{attempt}";
        var name = jobName + suffix;
        if (name.Length <= MaxLength)
        {
            return name;
        }

        // Keep names unique and readable: a prefix of the job name plus a hash of all of it.
        var hash = Hash(jobName);
        var room = MaxLength - suffix.Length - hash.Length - 1;
        return $"{jobName[..room].TrimEnd('-', '.')}-{hash}{suffix}";
    }

    /// <summary>
    /// Worker <paramref name="rank"/> of a multi-worker attempt: <c>&lt;job&gt;-attempt-N-worker-R</c>. It is also the
    /// pod's hostname, so it is a DNS label: at most 63 characters, no dots (a job name that has them, or is too long,
    /// is shortened to a prefix plus a hash of all of it).
    /// </summary>
    public static string ForWorker(string jobName, int attempt, int rank) => Label(jobName, $"-attempt-{attempt}-worker-{rank}");

    /// <summary>
    /// The headless Service of a multi-worker job, <c>&lt;job&gt;-workers</c>: the pods' subdomain, so worker R is
    /// <c>&lt;pod&gt;.&lt;service&gt;</c>. A DNS-1035 label (starts with a letter, no dots, at most 63 characters).
    /// </summary>
    public static string ServiceFor(string jobName)
    {
        var name = Label(jobName, "-workers");
        return char.IsAsciiLetterLower(name[0]) ? name : Label("w" + jobName, "-workers", jobName);
    }

    /// <summary>A label value (max 63 characters) that still identifies the job.</summary>
    public static string LabelValue(string jobName)
    {
        if (jobName.Length <= MaxLength)
        {
            return jobName;
        }

        var hash = Hash(jobName);
        return $"{jobName[..(MaxLength - hash.Length - 1)].TrimEnd('-', '.', '_')}-{hash}";
    }

    /// <summary><paramref name="jobName"/> + <paramref name="suffix"/> as a DNS label, hash-shortened when it has dots or is too long.</summary>
    private static string Label(string jobName, string suffix, string? hashOf = null)
    {
        var name = jobName + suffix;
        if (name.Length <= MaxLength && !jobName.Contains('.', StringComparison.Ordinal) && hashOf is null)
        {
            return name;
        }

        var hash = Hash(hashOf ?? jobName);
        var room = Math.Min(jobName.Length, MaxLength - suffix.Length - hash.Length - 1);
        var prefix = jobName[..room].Replace('.', '-').TrimEnd('-');
        return prefix.Length == 0 ? $"{hash}{suffix}" : $"{prefix}-{hash}{suffix}";
    }

    private static string Hash(string jobName) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(jobName)))[..8];
}
