using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Pinhole.Vpn.Tests;

/// <summary>Collects log lines in memory, to show in failure messages.</summary>
internal sealed class TestLog : ILoggerFactory, ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly long _start = Environment.TickCount64;

    public override string ToString() => string.Join("\n", _lines);

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName[(categoryName.LastIndexOf('.') + 1)..]);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private sealed class Logger(TestLog log, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => log._lines.Enqueue($"{(Environment.TickCount64 - log._start) / 1000.0,8:F3} {category} {logLevel}: {formatter(state, exception)}{(exception is null ? "" : " " + exception)}");
    }
}
