namespace Broker.Silo.Audit;

/// <summary>
/// The logging provider of the <c>Broker.Audit</c> category when <see cref="AuditOptions.Sink"/> is Stdout or File:
/// <see cref="AuditLog"/> logs as before (so every other provider, a test's capture among them, still sees the events),
/// and this provider hands them to the <see cref="AuditLineWriter"/> instead of the console logger.
/// </summary>
[ProviderAlias("BrokerAudit")]
public sealed class AuditLoggerProvider(AuditLineWriter writer, TimeProvider time) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) =>
        categoryName == AuditLog.Category ? new AuditLineLogger(writer, time) : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    public void Dispose() => writer.Dispose();

    private sealed class AuditLineLogger(AuditLineWriter writer, TimeProvider time) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == LogLevel.None) return;
            writer.Enqueue(AuditRecord.Of(time.GetUtcNow(), eventId.Id, logLevel, state, exception, formatter));
        }
    }
}
