using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using K8sTraining.Contract;
using K8sTraining.Training.Storage;
using Microsoft.Extensions.Logging;

namespace K8sTraining.Trainer.Tests.Storage;

/// <summary>Writes local checkpoints in the shared layout: files, then manifest.json last.</summary>
public static class LocalCheckpoints
{
    public static string Write(string root, long step, IReadOnlyDictionary<string, byte[]> files)
    {
        var dir = Path.Combine(root, CheckpointLayout.DirectoryName(step));
        Directory.CreateDirectory(dir);
        foreach (var (name, bytes) in files)
        {
            File.WriteAllBytes(Path.Combine(dir, name), bytes);
        }
        var manifest = new
        {
            formatVersion = 1,
            globalStep = step,
            epoch = 0,
            stepInEpoch = step,
            createdAt = DateTimeOffset.UtcNow.ToString("O"),
            files = files.Select(f => new { name = f.Key, size = f.Value.LongLength, sha256 = Convert.ToHexStringLower(SHA256.HashData(f.Value)) }).ToArray(),
        };
        File.WriteAllText(Path.Combine(dir, CheckpointLayout.ManifestFileName), JsonSerializer.Serialize(manifest));
        return dir;
    }

    public static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static Dictionary<string, byte[]> SmallCheckpoint(long step) => new()
    {
        ["model.bin"] = RandomBytes(64 * 1024 + (int)step, (int)step),
        ["optimizer.bin"] = RandomBytes(1000, 1000 + (int)step),
    };

    public static string TempDirectory()
    {
        var dir = Path.Combine(Path.GetTempPath(), "k8straining-storage-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}

/// <summary>Keeps every log line so tests can assert on warnings and on what must never be logged.</summary>
public sealed class ListLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<(LogLevel Level, string Message)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new ListLogger(this);

    public string AllText => string.Join("\n", Entries.Select(e => $"{e.Level}: {e.Message}"));

    public void Dispose()
    {
    }

    private sealed class ListLogger(ListLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var text = new StringBuilder(formatter(state, exception));
            if (exception is not null)
            {
                text.Append(" | ").Append(exception);
            }
            owner.Entries.Enqueue((logLevel, text.ToString()));
        }
    }
}
