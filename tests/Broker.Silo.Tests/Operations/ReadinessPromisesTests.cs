using System.Net;
using Broker.Testing.Hosting;
using Broker.Testing.Processes;

namespace Broker.Silo.Tests.Operations;

/// <summary>
/// README (Health): a provider that is down makes the silo degraded (200, with the reason); storage or
/// clustering down makes it unready (503).
/// </summary>
public sealed class ProviderDegradedReadinessTests(EmbeddedBroker broker) : IClassFixture<EmbeddedBroker>
{
    [Fact]
    public async Task A_provider_whose_metadata_is_unreachable_leaves_the_silo_ready_but_degraded_and_names_it()
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

        using var ready = await silo.Http.GetAsync("/health/ready");
        var body = await ready.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Contains("Degraded", body, StringComparison.Ordinal);
        Assert.Contains("provider gone: metadata unavailable", body, StringComparison.Ordinal);
        Assert.DoesNotContain("provider test", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_silo_whose_providers_all_answer_is_healthy_not_degraded()
    {
        using var ready = await broker.Silo.Http.GetAsync("/health/ready");
        var body = await ready.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Contains("Healthy", body, StringComparison.Ordinal);
        Assert.DoesNotContain("Degraded", body, StringComparison.Ordinal);
    }
}
