using Broker.Testing;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Faults;
using Broker.Testing.Hosting;
using Broker.Testing.Processes;
using Broker.V1;
using Grpc.Core;

namespace Broker.Grains.Tests.Families;

/// <summary>
/// A silo process is killed while its refresh is at the server: the server rotates, nobody hears the answer,
/// and the family's row keeps that silo's refresh intent. Another cluster on the same database then needs
/// the family. The intent says "outcome unknown"; what follows depends on the provider's reuse leeway.
/// </summary>
public abstract class InterruptedRefreshTests(Infrastructure infrastructure, TimeSpan? leeway) : IAsyncLifetime
{
    protected TestAuthorizationServer Server { get; private set; } = null!;
    private FaultInjectingProxy _proxy = null!;
    private SiloProcess _doomed = null!;
    protected BrokerSilo Survivor { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await TestAuthorizationServer.StartAsync(new TestAuthorizationServerOptions
        {
            AccessTokenLifetime = TimeSpan.FromMinutes(10),
            RefreshTokenReuseLeeway = leeway,
        });
        _proxy = await FaultInjectingProxy.StartAsync(Server.Issuer);
        var settings = ProviderSettings.Merge(ProviderSettings.For("test", Server), new()
        {
            ["Broker:Providers:test:TokenEndpoint"] = _proxy.Endpoint(TestAuthorizationServer.TokenPath).AbsoluteUri,
            ["Broker:Providers:test:RefreshTokenReuseLeeway"] = (leeway ?? TimeSpan.Zero).ToString(),
            ["Broker:Families:RefreshLease"] = "00:00:03",
            ["Broker:Families:MinForcedRefreshInterval"] = "00:00:00",
        });
        var spec = ClusterSpec.New(await infrastructure.NewDatabaseAsync(), infrastructure.Redis.Configuration, settings, serviceId: "shared");
        Survivor = await spec.StartSiloAsync();
        await Server.AddRedirectUriAsync("broker", Survivor.RedirectUri("test"));
        // Same database, service id and key; a cluster of its own.
        _doomed = await SiloProcess.StartAsync((spec with { ClusterId = $"c{Guid.NewGuid():N}" }).ProcessSettings());
    }

    /// <summary>Authorizes, then kills the doomed silo while the server processes its refresh.</summary>
    protected async Task<string> InterruptARefreshAsync(string subject)
    {
        await AuthorizationFlow.AuthorizeAsync(Survivor, "test", subject, "api.read");
        var held = await _doomed.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = subject });
        var refreshes = Server.Stats.RefreshTokenGrants;
        _proxy.Inject(new Fault.Latency(TimeSpan.FromSeconds(2)), "refresh_token");

        var doomedCall = _doomed.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = subject, ForceRefresh = true }).ResponseAsync;
        // The intent is stored and the request is on its way.
        await Eventually.WaitUntilAsync(() => _proxy.Faulted > 0, "the doomed silo's refresh to reach the proxy");
        _doomed.Kill();
        await Assert.ThrowsAsync<RpcException>(() => doomedCall.WaitAsync(TimeSpan.FromSeconds(30)));
        // The server rotated; nobody heard.
        await Eventually.WaitUntilAsync(() => Server.Stats.RefreshTokenGrants > refreshes, "the server to rotate the interrupted refresh");
        return held.AccessToken_;
    }

    public async Task DisposeAsync()
    {
        await _doomed.DisposeAsync();
        await Survivor.DisposeAsync();
        await _proxy.DisposeAsync();
        await Server.DisposeAsync();
    }
}

[Collection(ClusterCollection.Name)]
public sealed class InterruptedRefreshWithoutLeewayTests(Infrastructure infrastructure) : InterruptedRefreshTests(infrastructure, leeway: null)
{
    [Fact]
    public async Task Interrupted_refresh_is_not_replayed_and_requires_reauthorization()
    {
        var held = await InterruptARefreshAsync("interrupted");
        var refreshes = Server.Stats.RefreshTokenGrants;

        await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "REFRESH_OUTCOME_UNKNOWN",
            () => Survivor.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "interrupted", ForceRefresh = true }).ResponseAsync);

        Assert.Equal(refreshes, Server.Stats.RefreshTokenGrants);
        Assert.Equal(0, Server.Stats.RefreshTokenRejections); // never replayed, so the server revoked nothing
        var description = await Survivor.Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = "interrupted" });
        Assert.Equal("reauthorization_required", description.Status);
        Assert.Equal("refresh_outcome_unknown", description.StatusReason);
        // The access token in hand is still valid and still served.
        var still = await Survivor.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "interrupted" });
        TokenAssert.Same(held, still.AccessToken_);
    }
}

[Collection(ClusterCollection.Name)]
public sealed class InterruptedRefreshWithinLeewayTests(Infrastructure infrastructure) : InterruptedRefreshTests(infrastructure, TimeSpan.FromSeconds(30))
{
    [Fact]
    public async Task Interrupted_refresh_is_replayed_within_the_leeway_and_the_family_lives_on()
    {
        await InterruptARefreshAsync("interrupted-leeway");

        var token = await Survivor.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "interrupted-leeway", ForceRefresh = true });

        Assert.Equal("refresh", token.Source);
        Assert.True(await Server.IsActiveAsync(token.AccessToken_));
        Assert.Equal(0, Server.Stats.RefreshTokenRejections);
        var description = await Survivor.Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = "interrupted-leeway" });
        Assert.Equal("active", description.Status);
    }
}
