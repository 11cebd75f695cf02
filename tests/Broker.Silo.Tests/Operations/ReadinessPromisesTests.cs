using System.Net;
using System.Text.Json;
using Broker.Testing;
using Broker.Testing.Hosting;
using Broker.Testing.Processes;
using Broker.V1;
using Grpc.Core;

namespace Broker.Silo.Tests.Operations;

/// <summary>
/// README (Health): a provider that is down makes the silo degraded (200, with the reason in the JSON body);
/// storage or clustering down makes it unready (503). A provider whose metadata names another issuer is a
/// configuration error, said as such with both values. The silo lists its providers and their state at start.
/// </summary>
public sealed class ProviderDegradedReadinessTests(EmbeddedBroker broker) : IClassFixture<EmbeddedBroker>
{
    [Fact]
    public async Task A_provider_whose_metadata_is_unreachable_leaves_the_silo_ready_but_degraded_and_names_it_in_json()
    {
        // Nothing listens on this port: the provider's metadata cannot be had.
        var nowhere = $"http://127.0.0.1:{FreePort.Next()}/";
        await using var silo = await BrokerSilo.StartAsync(new BrokerSiloSettings
        {
            Settings = ProviderSettings.Merge(
                ProviderSettings.For("test", broker.Server),
                new()
                {
                    ["Broker:Providers:gone:Issuer"] = nowhere,
                    ["Broker:Providers:gone:ClientId"] = "broker",
                    ["Broker:Providers:gone:ClientSecret"] = "broker-test-secret",
                }),
        });

        var (status, body) = await Readiness.ReadAsync(silo);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Degraded", body.GetProperty("status").GetString());
        var providers = body.GetProperty("checks").GetProperty("providers");
        Assert.Equal("Degraded", providers.GetProperty("status").GetString());
        Assert.Contains("provider gone: metadata unavailable", providers.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("provider test", providers.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal("Healthy", body.GetProperty("checks").GetProperty("membership").GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_silo_whose_providers_all_answer_is_healthy_not_degraded()
    {
        var (status, body) = await Readiness.ReadAsync(broker.Silo);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Healthy", body.GetProperty("status").GetString());
        Assert.All(body.GetProperty("checks").EnumerateObject(), c => Assert.Equal("Healthy", c.Value.GetProperty("status").GetString()));
    }

    [Fact]
    public async Task A_metadata_issuer_that_differs_by_a_trailing_slash_is_a_configuration_error_naming_both_values()
    {
        var configured = broker.Server.Issuer.AbsoluteUri.TrimEnd('/');
        var logs = new CapturingLoggerProvider();
        await using var silo = await BrokerSilo.StartAsync(new BrokerSiloSettings
        {
            Settings = new()
            {
                ["Broker:Providers:slash:Issuer"] = configured,
                ["Broker:Providers:slash:ClientId"] = "broker",
                ["Broker:Providers:slash:ClientSecret"] = "broker-test-secret",
            },
            LoggerProvider = logs,
        });

        var status = await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "PROVIDER_REJECTED", () =>
            silo.Client.BeginAuthorizationAsync(new BeginAuthorizationRequest { Provider = "slash", Subject = "alice" }).ResponseAsync);
        Assert.Contains($"'{broker.Server.Issuer.AbsoluteUri}'", status.Message, StringComparison.Ordinal);
        Assert.Contains($"'{configured}'", status.Message, StringComparison.Ordinal);
        Assert.Contains("Broker:Providers:slash:Issuer", status.Message, StringComparison.Ordinal);

        var (_, body) = await Readiness.ReadAsync(silo);
        var reason = body.GetProperty("checks").GetProperty("providers").GetProperty("reason").GetString()!;
        Assert.Contains("provider slash: configuration error", reason, StringComparison.Ordinal);
        Assert.Contains($"'{broker.Server.Issuer.AbsoluteUri}'", reason, StringComparison.Ordinal);

        Assert.Contains(logs.Entries, e => e.Contains("Provider slash", StringComparison.Ordinal) && e.Contains("configuration error", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_silo_lists_each_configured_provider_and_its_state_at_start()
    {
        var logs = new CapturingLoggerProvider();
        await using var silo = await BrokerSilo.StartAsync(new BrokerSiloSettings
        {
            Settings = ProviderSettings.Merge(ProviderSettings.For("test", broker.Server), new()
            {
                ["Broker:Providers:gone:Issuer"] = $"http://127.0.0.1:{FreePort.Next()}/",
                ["Broker:Providers:gone:ClientId"] = "broker",
                ["Broker:Providers:gone:ClientSecret"] = "broker-test-secret",
                ["Logging:LogLevel:Broker.Silo"] = "Information", // the test silo is quiet by default
            }),
            LoggerProvider = logs,
        });

        Assert.Contains(logs.Entries, e => e.Contains($"Provider test ({broker.Server.Issuer.AbsoluteUri}): ready", StringComparison.Ordinal));
        Assert.Contains(logs.Entries, e => e.Contains("Provider gone (", StringComparison.Ordinal) && e.Contains("metadata unavailable", StringComparison.Ordinal));
    }
}

/// <summary>The JSON body of <c>/health/ready</c>.</summary>
public static class Readiness
{
    public static async Task<(HttpStatusCode Status, JsonElement Body)> ReadAsync(IBrokerEndpoints silo)
    {
        using var ready = await silo.Http.GetAsync("/health/ready");
        Assert.Equal("application/json", ready.Content.Headers.ContentType?.MediaType);
        return (ready.StatusCode, JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement);
    }
}
