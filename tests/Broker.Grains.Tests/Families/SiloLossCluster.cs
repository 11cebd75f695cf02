using Broker.Testing.AuthorizationServer;
using Broker.Testing.Faults;
using Broker.Testing.Hosting;
using Broker.Testing.Processes;

namespace Broker.Grains.Tests.Families;

/// <summary>
/// Silo processes (three by default) of one cluster (PostgreSQL, Redis) in front of one test authorization server. Each silo
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

    /// <summary>
    /// Starts the server, one proxy per silo, and <paramref name="silos"/> silos with the reuse leeway set to <paramref name="leeway"/>
    /// (server and broker), refresh-ahead off unless <paramref name="overrides"/> say otherwise.
    /// </summary>
    public static async Task<SiloLossCluster> StartAsync(Infrastructure infrastructure, TimeSpan? leeway, TimeSpan accessTokenLifetime,
        TimeSpan refreshLease, int silos = 3, Dictionary<string, string?>? overrides = null)
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
                ["Broker:Providers:test:CallerTokenRequestShare"] = "1", // one caller drives the whole storm
                ["Broker:Families:RefreshLease"] = refreshLease.ToString(),
                ["Broker:Families:RefreshAhead"] = "false",
                ["Broker:Families:MinForcedRefreshInterval"] = "00:00:00",
                ["Broker:Membership:ProbeTimeout"] = "00:00:01",
                ["Broker:Membership:NumMissedProbesLimit"] = "2",
            }, overrides ?? [])).ProcessSettings();
        var proxies = new List<FaultInjectingProxy>();
        for (var i = 0; i < silos; i++) proxies.Add(await FaultInjectingProxy.StartAsync(server.Issuer));
        var started = await Task.WhenAll(proxies.Select(proxy => SiloProcess.StartAsync(ProviderSettings.Merge(settings, new()
        {
            ["Broker:Providers:test:TokenEndpoint"] = proxy.Endpoint(TestAuthorizationServer.TokenPath).AbsoluteUri,
        }))));
        foreach (var silo in started) await server.AddRedirectUriAsync("broker", silo.RedirectUri("test"));
        return new SiloLossCluster(server, proxies, started);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var silo in Silos) await silo.DisposeAsync();
        foreach (var proxy in Proxies) await proxy.DisposeAsync();
        await Server.DisposeAsync();
    }
}
