namespace Broker.Silo.Telemetry;

/// <summary>Where traces, metrics and logs go: <c>Broker:Telemetry</c>.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Broker:Telemetry";

    public string ServiceName { get; set; } = "broker";

    /// <summary>OTLP endpoint (e.g. http://otel-collector:4317); traces, metrics and logs are exported there when set.</summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>Serve Prometheus metrics at /metrics on the HTTP port.</summary>
    public bool Prometheus { get; set; } = true;

    /// <summary>Write traces and metrics to the console (for the embedded default, when asked).</summary>
    public bool Console { get; set; }

    /// <summary>
    /// Record spans. Default: when an exporter is configured (<see cref="OtlpEndpoint"/> or <see cref="Console"/>); spans
    /// that nobody exports would cost every call three activities and their tags. Set true for an exporter added in code.
    /// </summary>
    public bool? Traces { get; set; }

    public bool RecordsTraces => Traces ?? (OtlpEndpoint is not null || Console);
}
