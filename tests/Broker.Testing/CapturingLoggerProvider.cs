using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Broker.Testing;

/// <summary>Keeps everything written to the logs (messages, structured values, exceptions) for a test to search.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _entries = new();
    private readonly ConcurrentDictionary<LogWindow, bool> _windows = new();

    /// <summary>Everything since the provider was made: shared by every test that uses this silo.</summary>
    public IReadOnlyCollection<string> Entries => _entries;

    /// <summary>
    /// A test's own view of the log: only what is written from now until the window is disposed, so counts do not
    /// depend on which other tests used the same silo before.
    /// </summary>
    public LogWindow Window()
    {
        var window = new LogWindow(w => _windows.TryRemove(w, out _));
        _windows[window] = true;
        return window;
    }

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, this);

    public void Dispose()
    {
    }

    private void Add(string entry)
    {
        _entries.Enqueue(entry);
        foreach (var window in _windows.Keys) window.Add(entry);
    }

    private sealed class Logger(string category, CapturingLoggerProvider provider) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull
        {
            provider.Add($"{category} scope: {state}");
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(" ", pairs.Select(p => $"{p.Key}={p.Value}")) : "";
            provider.Add($"{category} [{logLevel}] #{eventId.Id} {formatter(state, exception)} {values} {exception}");
        }
    }
}

/// <summary>The entries written while the window was open (see <see cref="CapturingLoggerProvider.Window"/>).</summary>
public sealed class LogWindow(Action<LogWindow> close) : IDisposable
{
    private readonly ConcurrentQueue<string> _entries = new();

    public IReadOnlyCollection<string> Entries => _entries;

    internal void Add(string entry) => _entries.Enqueue(entry);

    public void Dispose() => close(this);
}
