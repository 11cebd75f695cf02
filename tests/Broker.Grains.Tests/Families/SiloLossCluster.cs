using Broker.Testing.AuthorizationServer;
using Broker.Testing.Faults;
using Broker.Testing.Hosting;
using Broker.Testing.Processes;

namespace Broker.Grains.Tests.Families;

/// <summary>
/// Three silo processes of one cluster (PostgreSQL, Redis) in front of one test authorization server. Each silo
/// reaches the token endpoint through a <see cref="FaultInjectingProxy"/> of its own, so a test knows which silo
/// sent a refresh and can hold it there.
/// </summary>
public sealed class SiloLossCluster : IAsyncDisposable
{
    private SiloLossCluster(TestAuthorizationServer server, IReadOnlyList<FaultInjectingProxy> proxies, IReadOnlyList<SiloProcess> silos)
    {
        Server = server;
        Proxies = proxies;
        Silos = silos;
    }

    public TestAuthorizationServer Server { get; }

    /// <summary>The proxy of <see cref="Silos"/>[i] is <see cref="Proxies"/>[i].</summary>
    public IReadOnlyList<FaultInjectingProxy> Proxies { get; }

    public IReadOnlyList<SiloProcess> Silos { get; }

    /// <summary>Starts the server, one proxy per silo, and three silos with the broker's reuse leeway set to <paramref name="leeway"/> (server and broker).</summary>
    public static async Task<SiloLossCluster> StartAsync(Infrastructure infrastructure, TimeSpan? leeway, TimeSpan accessTokenLifetime,
        TimeSpan refreshLease)
    {
        var server = await TestAuthorizationServer.StartAsync(new TestAuthorizationServerOptions
        {
            AccessTokenLifetime = accessTokenLifetime,
            RefreshTokenReuseLeeway = leeway,
        });
        var settings = ClusterSpec.New(await infrastructure.NewDatabaseAsync(), infrastructure.Redis.Configuration, ProviderSettings.Merge(
            ProviderSettings.For("test", server), new()
            {
                ["Broker:Providers:test:RefreshTokenReuseLeeway"] = (leeway ?? TimeSpan.Zero).ToString(),
                ["Broker:Providers:test:TokenRequestsPerMinute"] = "6000",
                ["Broker:Providers:test:TokenRequestBurst"] = "200",
                ["Broker:Families:RefreshLease"] = refreshLease.ToString(),
                ["Broker:Families:RefreshAhead"] = "false",
                ["Broker:Families:MinForcedRefreshInterval"] = "00:00:00",
                ["Broker:Membership:ProbeTimeout"] = "00:00:01",
                ["Broker:Membership:NumMissedProbesLimit"] = "2",
            })).ProcessSettings();
        var proxies = new List<FaultInjectingProxy>();
        for (var i = 0; i < 3; i++) proxies.Add(await FaultInjectingProxy.StartAsync(server.Issuer));
        var silos = await Task.WhenAll(proxies.Select(proxy => SiloProcess.StartAsync(ProviderSettings.Merge(settings, new()
        {
            ["Broker:Providers:test:TokenEndpoint"] = proxy.Endpoint(TestAuthorizationServer.TokenPath).AbsoluteUri,
        }))));
        foreach (var silo in silos) await server.AddRedirectUriAsync("broker", silo.RedirectUri("test"));
        return new SiloLossCluster(server, proxies, silos);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var silo in Silos) await silo.DisposeAsync();
        foreach (var proxy in Proxies) await proxy.DisposeAsync();
        await Server.DisposeAsync();
    }
}
