using System.Text;

namespace K8sTraining.NodeAgent.Status;

/// <summary>The termination message the kubelet puts in a terminated container's status.</summary>
public static class TerminationMessage
{
    /// <summary>The kubelet reads at most the last 4 KiB of the termination-message file.</summary>
    public const int MaxFileBytes = 4096;

    /// <summary>FallbackToLogsOnError takes at most the last 80 log lines, and of those the last 2 KiB.</summary>
    public const int MaxLogLines = 80;

    public const int MaxLogBytes = 2048;

    public static string Read(string messageFile, string? policy, int exitCode, string logFile)
    {
        var message = ReadTail(messageFile, MaxFileBytes);
        if (message.Length == 0 && exitCode != 0 && policy == "FallbackToLogsOnError")
        {
            message = ReadLogTail(logFile);
        }

        return message;
    }

    private static string ReadLogTail(string logFile)
    {
        // 80 lines of at most a few KiB each: reading 64 KiB from the end is plenty to find them.
        var text = ReadTail(logFile, 64 * 1024);
        var lines = text.Split('\n');
        var count = text.EndsWith('\n') ? lines.Length - 1 : lines.Length;
        var first = Math.Max(0, count - MaxLogLines);
        var tail = string.Join('\n', lines[first..]);
        var bytes = Encoding.UTF8.GetBytes(tail);
        return bytes.Length <= MaxLogBytes ? tail : Encoding.UTF8.GetString(bytes, bytes.Length - MaxLogBytes, MaxLogBytes);
    }

    private static string ReadTail(string path, int maxBytes)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var length = stream.Length;
            if (length > maxBytes)
            {
                stream.Seek(length - maxBytes, SeekOrigin.Begin);
            }

            var buffer = new byte[Math.Min(length, maxBytes)];
            stream.ReadExactly(buffer);
            return Encoding.UTF8.GetString(buffer);
        }
        catch (FileNotFoundException)
        {
            return string.Empty;
        }
        catch (DirectoryNotFoundException)
        {
            return string.Empty;
        }
    }
}
