using Broker.Abstractions.Settings;
using Microsoft.Extensions.Options;

namespace Broker.Silo.Telemetry;

/// <summary>A bad exporter address would otherwise fail on the first export, long after start, in a log nobody reads.</summary>
public sealed class TelemetryOptionsValidator : IValidateOptions<TelemetryOptions>
{
    public ValidateOptionsResult Validate(string? name, TelemetryOptions options)
    {
        var failures = new SettingFailures(TelemetryOptions.Section);
        if (string.IsNullOrWhiteSpace(options.ServiceName))
            failures.Add(nameof(options.ServiceName), "must not be empty (it names this service in every trace and metric).");
        if (options.OtlpEndpoint is { } endpoint
            && !(Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)))
            failures.Add(nameof(options.OtlpEndpoint), $"must be an absolute http or https URL, e.g. http://otel-collector:4317 (was '{endpoint}').");
        return failures.Result;
    }
}
