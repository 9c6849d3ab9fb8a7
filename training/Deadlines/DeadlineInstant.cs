using System.Globalization;
using System.Text.RegularExpressions;
using K8sTraining.Training.Options;

namespace K8sTraining.Training.Deadlines;

/// <summary><c>--deadline</c>: an RFC 3339 instant with its offset (<c>2026-11-30T22:00:00Z</c>, <c>...+01:00</c>), kept in UTC.</summary>
public static partial class DeadlineInstant
{
    /// <summary>Parses <paramref name="text"/>; throws <see cref="OptionsException"/> (exit 2) naming <paramref name="source"/> otherwise.</summary>
    public static DateTimeOffset Parse(string text, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        if (Rfc3339().IsMatch(trimmed)
            && DateTimeOffset.TryParse(trimmed.Replace('t', 'T').Replace('z', 'Z'), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out var instant))
        {
            return instant.ToUniversalTime();
        }
        throw new OptionsException($"{source}: '{text}' is not allowed; allowed: an RFC 3339 instant with its offset, such as 2026-11-30T22:00:00Z or 2026-11-30T23:00:00+01:00");
    }

    /// <summary>As RFC 3339 writes it, in UTC (for messages and logs).</summary>
    public static string Format(DateTimeOffset instant) => instant.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.FFF'Z'", CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")]
    private static partial Regex Rfc3339();
}
