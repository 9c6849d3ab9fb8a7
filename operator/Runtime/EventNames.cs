using System.Globalization;

namespace K8sTraining.Operator.Runtime;

/// <summary>
/// Event names as client-go's recorder builds them (<c>fmt.Sprintf("%v.%x", ref.Name, t.UnixNano())</c>): the object's
/// name, a dot, a hexadecimal time suffix. A long name is shortened so the whole stays a valid DNS subdomain of at most
/// 253 characters; the suffix is always kept, so the Event never takes the object's own name and two Events differ.
/// </summary>
public static class EventNames
{
    public const int MaxLength = 253;

    private static long _last;

    /// <summary>The Event name for an object and a suffix value (client-go: the time in Unix nanoseconds).</summary>
    public static string For(string objectName, long suffix)
    {
        var hex = suffix.ToString("x", CultureInfo.InvariantCulture);
        var room = MaxLength - 1 - hex.Length;
        var head = objectName.Length <= room ? objectName : objectName[..room];
        // A shortened name may end in '.' or '-'; a DNS label must end in a letter or digit.
        head = head.TrimEnd('.', '-');
        return $"{head}.{hex}";
    }

    /// <summary>A name for an Event recorded now: Unix nanoseconds, strictly increasing within this process so two
    /// Events in one clock tick still get two names.</summary>
    public static string ForNow(string objectName, DateTimeOffset now)
    {
        var nanos = (now.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;
        long last, next;
        do
        {
            last = Interlocked.Read(ref _last);
            next = Math.Max(nanos, last + 1);
        }
        while (Interlocked.CompareExchange(ref _last, next, last) != last);

        return For(objectName, next);
    }
}
