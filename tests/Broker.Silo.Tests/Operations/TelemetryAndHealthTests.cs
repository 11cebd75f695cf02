using System.Net;
using Broker.Silo.Tests.Cluster;
using Broker.Testing;
using Broker.Testing.Hosting;
using Broker.Testing.Processes;
using Broker.V1;

namespace Broker.Silo.Tests.Operations;

public sealed class MetricsEndpointTests(EmbeddedBroker broker) : IClassFixture<EmbeddedBroker>
{
    [Fact]
    public async Task Metrics_endpoint_shows_the_counters_moved_by_a_flow()
    {
        await AuthorizationFlow.AuthorizeAsync(broker.Silo, "test", "metrics-user", "api.read");
        await broker.Silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "metrics-user" });
        await broker.Silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "metrics-user", ForceRefresh = true });

        var metrics = await PageAfterAsync("source=\"refresh\""); // the last of the flow's counts

        Assert.Matches("broker_tokens_served_total\\{[^}]*source=\"cache\"[^}]*\\} [1-9]", metrics);
        Assert.Matches("broker_tokens_served_total\\{[^}]*source=\"refresh\"[^}]*\\} [1-9]", metrics);
        Assert.Matches("broker_upstream_requests_total\\{[^}]*grant=\"refresh_token\"[^}]*outcome=\"issued\"[^}]*\\} [1-9]", metrics);
        Assert.DoesNotContain("metrics-user", metrics); // subjects never become metric labels
    }

    [Fact]
    public async Task Request_metrics_show_the_duration_and_not_the_active_requests()
    {
        await broker.Silo.Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = "metrics-requests" });

        var metrics = await PageAfterAsync("/broker.v1.TokenBroker/DescribeFamily");

        Assert.Matches("http_server_request_duration_seconds_count\\{[^}]*http_route=\"/broker.v1.TokenBroker/DescribeFamily\"[^}]*\\} [1-9]", metrics);
        Assert.DoesNotContain("http_server_active_requests", metrics); // dropped: two records per call, and rate x duration tells it
    }

    /// <summary>
    /// The Prometheus page once it shows <paramref name="expected"/>: the exporter answers a scrape from a copy up to
    /// 300 ms old, so a page read just before (by another test of this silo) can still be the one served.
    /// </summary>
    private async Task<string> PageAfterAsync(string expected)
    {
        var page = "";
        await Eventually.WaitUntilAsync(async () => (page = await broker.Silo.Http.GetStringAsync("/metrics")).Contains(expected, StringComparison.Ordinal),
            $"the metrics page with {expected}", TimeSpan.FromSeconds(10));
        return page;
    }

    [Fact]
    public async Task Live_and_ready_answer_on_the_http_port()
    {
        Assert.Equal(HttpStatusCode.OK, (await broker.Silo.Http.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await broker.Silo.Http.GetAsync("/health/ready")).StatusCode);
    }
}

[Collection(ClusterCollection.Name)]
public sealed class ReadinessTests(ClusterInfrastructure infrastructure)
{
    [Fact]
    public async Task Ready_goes_unready_when_postgresql_stops_while_live_stays_up()
    {
        await using var postgres = await PostgresServer.StartAsync(); // its own server: this test stops it
        var database = await postgres.CreateDatabaseAsync();
        await Broker.Silo.Storage.SchemaMigrator.MigrateAsync(database);
        await using var silo = await BrokerSilo.StartAsync(new BrokerSiloSettings
        {
            Mode = Broker.Silo.Hosting.BrokerMode.Cluster,
            PostgreSql = database,
            Redis = infrastructure.Redis.Configuration,
            ClusterId = $"c{Guid.NewGuid():N}",
            EncryptionKey = BrokerSiloSettings.NewEncryptionKey(),
            Settings = ProviderSettings.For("test", infrastructure.Server),
        });
        Assert.Equal(HttpStatusCode.OK, (await silo.Http.GetAsync("/health/ready")).StatusCode);

        await postgres.StopAsync();

        using var ready = await silo.Http.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await silo.Http.GetAsync("/health/live")).StatusCode);

        await postgres.StartAgainAsync();
        Assert.Equal(HttpStatusCode.OK, (await silo.Http.GetAsync("/health/ready")).StatusCode);
    }
}

public sealed class UnconfiguredSiloTests
{
    [Fact]
    public async Task Embedded_silo_without_providers_is_ready()
    {
        await using var silo = await BrokerSilo.StartAsync(new BrokerSiloSettings());

        Assert.Equal(HttpStatusCode.OK, (await silo.Http.GetAsync("/health/ready")).StatusCode);
    }
}
