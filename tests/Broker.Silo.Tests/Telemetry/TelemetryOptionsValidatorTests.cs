using Broker.Silo.Telemetry;

namespace Broker.Silo.Tests.Telemetry;

public sealed class TelemetryOptionsValidatorTests
{
    private static IReadOnlyList<string> Failures(TelemetryOptions options) =>
        new TelemetryOptionsValidator().Validate(null, options).Failures?.ToList() ?? [];

    [Fact]
    public void The_defaults_and_an_otlp_collector_address_are_valid()
    {
        Assert.Empty(Failures(new TelemetryOptions()));
        Assert.Empty(Failures(new TelemetryOptions { OtlpEndpoint = "http://otel-collector:4317" }));
    }

    [Theory]
    [InlineData("otel-collector:4317")]
    [InlineData("/collector")]
    public void An_otlp_endpoint_that_is_not_an_http_url_is_refused_naming_the_setting(string endpoint)
    {
        var failure = Assert.Single(Failures(new TelemetryOptions { OtlpEndpoint = endpoint }));

        Assert.StartsWith("Broker:Telemetry:OtlpEndpoint must be an absolute http or https URL", failure);
    }

    [Fact]
    public void An_empty_service_name_is_refused_naming_the_setting()
    {
        var failure = Assert.Single(Failures(new TelemetryOptions { ServiceName = " " }));

        Assert.StartsWith("Broker:Telemetry:ServiceName must not be empty", failure);
    }
}
