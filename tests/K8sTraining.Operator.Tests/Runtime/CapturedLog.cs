using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace K8sTraining.Operator.Tests.Runtime;

/// <summary>A logger that keeps every line it is given, with its level, for a test to read.</summary>
internal sealed class CapturedLog : ILogger
{
    public ConcurrentQueue<(LogLevel Level, string Message)> Lines { get; } = new();

    public IEnumerable<string> Messages => Lines.Select(l => l.Message);

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Lines.Enqueue((logLevel, formatter(state, exception)));
}
