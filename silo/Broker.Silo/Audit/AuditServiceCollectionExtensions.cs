using Broker.Grains.Telemetry;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Logging.Debug;
using Microsoft.Extensions.Logging.EventSource;

namespace Broker.Silo.Audit;

public static class AuditServiceCollectionExtensions
{
    /// <summary>The audit trail's sink: its own batching writer (Stdout, File), or the logging providers (Logging).</summary>
    public static WebApplicationBuilder AddBrokerAudit(this WebApplicationBuilder builder, AuditOptions options)
    {
        // AuditLog takes the writer when there is one; the container disposes it at shutdown, and it writes what still waits.
        builder.Services.AddSingleton<AuditLog>();
        if (options.Sink == AuditSink.Logging) return builder;
        builder.Services.AddSingleton(services => new AuditLineWriter(
            Open(options),
            options.Capacity,
            services.GetService<TimeProvider>() ?? TimeProvider.System,
            dropped => services.GetRequiredService<BrokerMetrics>().AuditDropped(dropped),
            options.Sink == AuditSink.File || StandardOutputIsAFile() ? AuditLineWriter.FileBatchBytes : AuditLineWriter.PipeBatchBytes));
        // The writer writes the category; the default providers would carry every event a second time (and the event
        // source's logger, on by default, made each event a call through the logging framework that nobody reads).
        // Providers added for the purpose (a test's capture, an OTLP exporter) still get the events.
        builder.Logging.AddFilter<ConsoleLoggerProvider>(AuditLog.Category, LogLevel.None)
            .AddFilter<DebugLoggerProvider>(AuditLog.Category, LogLevel.None)
            .AddFilter<EventSourceLoggerProvider>(AuditLog.Category, LogLevel.None);
        return builder;
    }

    /// <summary>
    /// Standard output redirected to a regular file (a service manager's log file, the benchmark's) takes large writes
    /// whole; a pipe, a socket or a terminal, or anything this cannot tell (not Linux), gets writes of PIPE_BUF at most.
    /// </summary>
    public static bool StandardOutputIsAFile()
    {
        try
        {
            return OperatingSystem.IsLinux() && new FileInfo("/proc/self/fd/1").LinkTarget is { } target
                && target.StartsWith('/') && !target.StartsWith("/dev/", StringComparison.Ordinal) && File.Exists(target);
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static Stream Open(AuditOptions options) => options.Sink == AuditSink.File
        ? new FileStream(options.Path!, FileMode.Append, FileAccess.Write, FileShare.Read)
        : Console.OpenStandardOutput();
}
