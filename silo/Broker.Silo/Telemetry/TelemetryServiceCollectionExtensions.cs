using Broker.Grains.Telemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Broker.Silo.Telemetry;

public static class TelemetryServiceCollectionExtensions
{
    /// <summary>
    /// OpenTelemetry for the whole process: our meter and activity source beside Orleans' and ASP.NET Core's,
    /// outgoing HTTP to the authorization servers, exporters chosen by <see cref="TelemetryOptions"/>.
    /// </summary>
    public static WebApplicationBuilder AddBrokerTelemetry(this WebApplicationBuilder builder, TelemetryOptions options)
    {
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(options.ServiceName))
            .WithMetrics(metrics =>
            {
                // "Polly": the resilience handlers' events, among them circuit breaker opened/closed per provider client.
                // "System.Runtime": .NET's own GC heap, working set and thread pool figures, for watching memory over days.
                // ASP.NET Core's request metrics (http.server.*), not Kestrel's per-request queue and connection
                // instruments, which AddAspNetCoreInstrumentation would also turn on (2.5 % of a cache hit's profile).
                // Of ASP.NET Core's, not http.server.active_requests: it is recorded twice per request (start and end,
                // 1 % of a cache hit's CPU) and follows from the rate and duration of http.server.request.duration.
                metrics.AddMeter(BrokerMetrics.MeterName, "Microsoft.Orleans", "Polly", "System.Runtime", "Microsoft.AspNetCore.Hosting")
                    .AddView("http.server.active_requests", MetricStreamConfiguration.Drop)
                    .AddHttpClientInstrumentation();
                if (options.Prometheus) metrics.AddPrometheusExporter();
                if (options.OtlpEndpoint is not null) metrics.AddOtlpExporter(o => o.Endpoint = new Uri(options.OtlpEndpoint));
                if (options.Console) metrics.AddConsoleExporter();
            });
        if (options.RecordsTraces)
        {
            otel.WithTracing(tracing =>
            {
                tracing.AddSource(BrokerActivity.SourceName, "Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application")
                    .AddProcessor(services => new GrainIdRedaction(services.GetRequiredService<Broker.Abstractions.Identity.FamilyLogId>())) // before any exporter
                    .AddProcessor(new UrlPathRedaction())
                    // Request URLs carry authorization codes (callback) and nothing in a trace may: keep the path only.
                    .AddAspNetCoreInstrumentation(o => o.EnrichWithHttpRequest = (activity, _) => activity.SetTag("url.query", null))
                    .AddHttpClientInstrumentation();
                if (options.OtlpEndpoint is not null) tracing.AddOtlpExporter(o => o.Endpoint = new Uri(options.OtlpEndpoint));
                if (options.Console) tracing.AddConsoleExporter();
            });
        }
        if (options.OtlpEndpoint is not null)
        {
            otel.WithLogging(logging => logging.AddOtlpExporter(o => o.Endpoint = new Uri(options.OtlpEndpoint)));
        }
        return builder;
    }
}
