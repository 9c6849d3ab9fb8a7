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
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(jobName)))[..8];
        var room = MaxLength - suffix.Length - hash.Length - 1;
        return $"{jobName[..room].TrimEnd('-', '.')}-{hash}{suffix}";
    }

    /// <summary>A label value (max 63 characters) that still identifies the job.</summary>
    public static string LabelValue(string jobName)
    {
        if (jobName.Length <= MaxLength)
        {
            return jobName;
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(jobName)))[..8];
        return $"{jobName[..(MaxLength - hash.Length - 1)].TrimEnd('-', '.', '_')}-{hash}";
    }
}
