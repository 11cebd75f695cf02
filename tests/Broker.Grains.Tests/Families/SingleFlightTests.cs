using Broker.Testing;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Hosting;
using Broker.V1;

namespace Broker.Grains.Tests.Families;

/// <summary>Three silos of one cluster on real PostgreSQL and Redis, against an authorization server whose access tokens live 3 s.</summary>
public sealed class ThreeSiloCluster(Infrastructure infrastructure) : IAsyncLifetime
{
    public static readonly TimeSpan AccessTokenLifetime = TimeSpan.FromSeconds(3);

    public TestAuthorizationServer Server { get; private set; } = null!;

    /// <summary>A second server with 10-minute tokens (provider "long"), for counts that must not race expiry.</summary>
    public TestAuthorizationServer LongLivedServer { get; private set; } = null!;

    public BrokerSilo[] Silos { get; private set; } = [];

    public async Task InitializeAsync()
    {
        Server = await TestAuthorizationServer.StartAsync(new TestAuthorizationServerOptions { AccessTokenLifetime = AccessTokenLifetime });
        LongLivedServer = await TestAuthorizationServer.StartAsync(new TestAuthorizationServerOptions { AccessTokenLifetime = TimeSpan.FromMinutes(10) });
        var spec = ClusterSpec.New(await infrastructure.NewDatabaseAsync(), infrastructure.Redis.Configuration, ProviderSettings.Merge(
            ProviderSettings.For("test", Server),
            ProviderSettings.For("budget", Server),
            ProviderSettings.For("long", LongLivedServer),
            new()
            {
                // Refresh-ahead would move refreshes between rounds; this fixture counts refreshes per expiry.
                ["Broker:Families:RefreshAhead"] = "false",
                ["Broker:Providers:budget:TokenRequestBurst"] = "3",
                ["Broker:Providers:budget:TokenRequestsPerMinute"] = "1",
                // The tests' one caller may use the whole budget: this fixture tests the client's budget across silos.
                ["Broker:Providers:budget:CallerTokenRequestShare"] = "1",
            }));
        Silos = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => spec.StartSiloAsync()));
        foreach (var silo in Silos) await Server.AddRedirectUriAsync("broker", silo.RedirectUri("test"));
    }

    public async Task DisposeAsync()
    {
        foreach (var silo in Silos) await silo.DisposeAsync();
        await Server.DisposeAsync();
        await LongLivedServer.DisposeAsync();
    }
}

[Collection(ClusterCollection.Name)]
public sealed class SingleFlightTests(ThreeSiloCluster cluster) : IClassFixture<ThreeSiloCluster>
{
    private const int Callers = 1000;
    private const int Rounds = 20;

    [Fact]
    public async Task Concurrent_callers_on_three_silos_cause_one_refresh_per_expiry()
    {
        await AuthorizationFlow.AuthorizeAsync(cluster.Silos[0], "test", "storm-user", "api.read");
        var request = new GetAccessTokenRequest { Provider = "test", Subject = "storm-user", MinTtlSeconds = 1 };
        var current = await cluster.Silos[0].Client.GetAccessTokenAsync(request);
        var refreshesBefore = cluster.Server.Stats.RefreshTokenGrants;
        var rejectionsBefore = cluster.Server.Stats.RefreshTokenRejections;
        var seen = new HashSet<string> { current.AccessToken_ };

        for (var round = 1; round <= Rounds; round++)
        {
            // Wait until the held token is inside the callers' 1 s buffer: every caller now needs a refresh.
            var due = current.ExpiresAt.ToDateTimeOffset() - TimeSpan.FromSeconds(1);
            var wait = due - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(50);
            if (wait > TimeSpan.Zero) await Task.Delay(wait);

            var results = await Concurrently.RunAsync(Callers, i => cluster.Silos[i % cluster.Silos.Length].Client.GetAccessTokenAsync(request).ResponseAsync);

            TokenAssert.AllSame(results.Select(r => r.AccessToken_));
            Assert.True(seen.Add(results[0].AccessToken_), "a round was answered with an earlier round's token");
            Assert.Equal(refreshesBefore + round, cluster.Server.Stats.RefreshTokenGrants);
            Assert.Contains(results, r => r.Source == "refresh");
            current = results[0];
        }

        Assert.Equal(Rounds, cluster.Server.Stats.RefreshTokenGrants - refreshesBefore);
        Assert.Equal(rejectionsBefore, cluster.Server.Stats.RefreshTokenRejections);
        Assert.True(await cluster.Server.IsActiveAsync(current.AccessToken_));
    }

    [Fact]
    public async Task Concurrent_client_token_callers_on_three_silos_cause_one_token_request()
    {
        var before = cluster.LongLivedServer.Stats.ClientCredentialsGrants;
        var request = new GetClientTokenRequest { Provider = "long", Scopes = { "api.write", "api.read" } };

        var results = await Concurrently.RunAsync(Callers, i => cluster.Silos[i % cluster.Silos.Length].Client.GetClientTokenAsync(request).ResponseAsync);

        TokenAssert.AllSame(results.Select(r => r.AccessToken_));
        Assert.Equal(before + 1, cluster.LongLivedServer.Stats.ClientCredentialsGrants);
    }
}
