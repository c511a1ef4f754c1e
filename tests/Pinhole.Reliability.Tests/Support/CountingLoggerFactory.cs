using Microsoft.Extensions.Logging;

namespace Pinhole.Reliability.Tests.Support;

/// <summary>Counts log records by level (and keeps the messages at Information and above).</summary>
public sealed class CountingLoggerFactory : ILoggerFactory, ILogger
{
    private readonly Lock _lock = new();
    private readonly Dictionary<LogLevel, int> _counts = [];
    private readonly List<string> _messages = [];

    public int CountAtLeast(LogLevel level)
    {
        lock (_lock)
        {
            return _counts.Where(c => c.Key >= level).Sum(c => c.Value);
        }
    }

    public IReadOnlyList<string> Messages
    {
        get { lock (_lock) { return [.. _messages]; } }
    }

    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_lock)
        {
            _counts[logLevel] = _counts.GetValueOrDefault(logLevel) + 1;
            if (logLevel >= LogLevel.Information)
            {
                _messages.Add(formatter(state, exception));
            }
        }
    }

    public void Dispose()
    {
    }
}
