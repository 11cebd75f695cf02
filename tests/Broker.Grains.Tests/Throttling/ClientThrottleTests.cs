using Broker.Testing;
using Broker.Grains.Tests.Families;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Faults;
using Broker.Testing.Hosting;
using Broker.V1;
using Google.Rpc;
using Grpc.Core;

namespace Broker.Grains.Tests.Throttling;

[Collection(ClusterCollection.Name)]
public sealed class ClientThrottleTests(ThreeSiloCluster cluster) : IClassFixture<ThreeSiloCluster>
{
    [Fact]
    public async Task Client_budget_holds_across_all_silos()
    {
        // Provider "budget": a burst of 3 token requests, then one a minute, for the whole cluster.
        var before = cluster.Server.Stats.ClientCredentialsGrants;
        var outcomes = new List<StatusCode>();
        // Distinct scope sets: distinct grains, each needing its own token request.
        string[][] scopeSets = [["api"], ["api.read"], ["api.write"], ["api", "api.read"], ["api", "api.write"], ["api.read", "api.write"]];
        for (var i = 0; i < scopeSets.Length; i++)
        {
            var silo = cluster.Silos[i % cluster.Silos.Length];
            try
            {
                await silo.Client.GetClientTokenAsync(new GetClientTokenRequest { Provider = "budget", Scopes = { scopeSets[i] } });
                outcomes.Add(StatusCode.OK);
            }
            catch (RpcException ex)
            {
                outcomes.Add(ex.StatusCode);
                var retry = ex.GetRpcStatus()!.GetDetail<RetryInfo>();
                Assert.NotNull(retry);
                Assert.True(retry!.RetryDelay.ToTimeSpan() > TimeSpan.Zero);
            }
        }

        Assert.Equal(3, outcomes.Count(o => o == StatusCode.OK));
        Assert.Equal(3, outcomes.Count(o => o == StatusCode.ResourceExhausted));
        Assert.Equal(before + 3, cluster.Server.Stats.ClientCredentialsGrants);
    }
}

/// <summary>A provider's 429 with Retry-After stops token requests of that client on every silo.</summary>
[Collection(ClusterCollection.Name)]
public sealed class RetryAfterTests(Infrastructure infrastructure) : IAsyncLifetime
{
    private TestAuthorizationServer _server = null!;
    private FaultInjectingProxy _proxy = null!;
    private BrokerSilo[] _silos = [];

    public async Task InitializeAsync()
    {
        _server = await TestAuthorizationServer.StartAsync();
        _proxy = await FaultInjectingProxy.StartAsync(_server.Issuer);
        var spec = ClusterSpec.New(await infrastructure.NewDatabaseAsync(), infrastructure.Redis.Configuration, ProviderSettings.Merge(
            ProviderSettings.For("test", _server),
            new() { ["Broker:Providers:test:TokenEndpoint"] = _proxy.Endpoint(TestAuthorizationServer.TokenPath).AbsoluteUri }));
        _silos = await Task.WhenAll(spec.StartSiloAsync(), spec.StartSiloAsync());
    }

    [Fact]
    public async Task Retry_after_from_the_provider_stops_requests_on_every_silo()
    {
        _proxy.Inject(new Fault.TooManyRequests(TimeSpan.FromSeconds(60)), "client_credentials");

        var first = await GrpcAssert.FailsWith(StatusCode.ResourceExhausted, "THROTTLED",
            () => _silos[0].Client.GetClientTokenAsync(new GetClientTokenRequest { Provider = "test", Scopes = { "api.read" } }).ResponseAsync);
        Assert.InRange(first.GetDetail<RetryInfo>()!.RetryDelay.ToTimeSpan(), TimeSpan.FromSeconds(50), TimeSpan.FromSeconds(60));

        // Another silo, another token: held back without asking the provider.
        var forwarded = _proxy.Forwarded;
        await GrpcAssert.FailsWith(StatusCode.ResourceExhausted, "THROTTLED",
            () => _silos[1].Client.GetClientTokenAsync(new GetClientTokenRequest { Provider = "test", Scopes = { "api.write" } }).ResponseAsync);
        Assert.Equal(forwarded, _proxy.Forwarded);
        Assert.Equal(1, _proxy.Faulted);
        Assert.Equal(0, _server.Stats.ClientCredentialsGrants);
    }

    public async Task DisposeAsync()
    {
        foreach (var silo in _silos) await silo.DisposeAsync();
        await _proxy.DisposeAsync();
        await _server.DisposeAsync();
    }
}
