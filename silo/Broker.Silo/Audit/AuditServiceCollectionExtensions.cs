using Broker.Grains.Telemetry;
using Microsoft.Extensions.Logging.Console;

namespace Broker.Silo.Audit;

public static class AuditServiceCollectionExtensions
{
    /// <summary>The audit trail's sink: its own batching writer (Stdout, File), or the logging providers (Logging).</summary>
    public static WebApplicationBuilder AddBrokerAudit(this WebApplicationBuilder builder, AuditOptions options)
    {
        builder.Services.AddSingleton<AuditLog>();
        if (options.Sink == AuditSink.Logging) return builder;
        builder.Services.AddSingleton(services => new AuditLineWriter(
            Open(options),
            options.Capacity,
            services.GetService<TimeProvider>() ?? TimeProvider.System,
            dropped => services.GetRequiredService<BrokerMetrics>().AuditDropped(dropped)));
        builder.Services.AddSingleton<ILoggerProvider, AuditLoggerProvider>();
        // The writer writes the category now; the console logger would write every event a second time.
        builder.Logging.AddFilter<ConsoleLoggerProvider>(AuditLog.Category, LogLevel.None);
        return builder;
    }

    private static Stream Open(AuditOptions options) => options.Sink == AuditSink.File
        ? new FileStream(options.Path!, FileMode.Append, FileAccess.Write, FileShare.Read)
        : Console.OpenStandardOutput();
}
