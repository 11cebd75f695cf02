using Broker.Testing;
using Broker.Silo.Storage;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Faults;
using Broker.Testing.Hosting;
using Broker.Testing.Processes;
using Broker.V1;
using Grpc.Core;
using Orleans;
using Orleans.Runtime;

namespace Broker.Grains.Tests.Families;

/// <summary>
/// PostgreSQL goes away while a refresh is at the server: the rotated tokens cannot be stored. No caller may
/// see them before they are stored, and the spent refresh token must never be sent again.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class DurabilityTests(Infrastructure infrastructure) : IAsyncLifetime
{
    private PostgresServer _postgres = null!;
    private TestAuthorizationServer _server = null!;
    private FaultInjectingProxy _proxy = null!;
    private BrokerSilo _silo = null!;

    public async Task InitializeAsync()
    {
        _postgres = await PostgresServer.StartAsync(); // its own server: this test stops it
        var database = await _postgres.CreateDatabaseAsync();
        await SchemaMigrator.MigrateAsync(database);
        _server = await TestAuthorizationServer.StartAsync(new TestAuthorizationServerOptions { AccessTokenLifetime = TimeSpan.FromMinutes(10) });
        _proxy = await FaultInjectingProxy.StartAsync(_server.Issuer);
        var spec = ClusterSpec.New(database, infrastructure.Redis.Configuration, ProviderSettings.Merge(
            ProviderSettings.For("test", _server),
            new()
            {
                ["Broker:Providers:test:TokenEndpoint"] = _proxy.Endpoint(TestAuthorizationServer.TokenPath).AbsoluteUri,
                ["Broker:Families:MinForcedRefreshInterval"] = "00:00:00",
                ["Broker:Families:PersistRetryDelay"] = "00:00:00.2",
                ["Broker:Families:PersistAttemptsPerCall"] = "3",
            }));
        _silo = await spec.StartSiloAsync();
        await _server.AddRedirectUriAsync("broker", _silo.RedirectUri("test"));
    }

    [Fact]
    public async Task Rotated_tokens_are_stored_before_any_caller_sees_them()
    {
        await AuthorizationFlow.AuthorizeAsync(_silo, "test", "durable", "api.read");
        var request = new GetAccessTokenRequest { Provider = "test", Subject = "durable" };
        var before = await _silo.Client.GetAccessTokenAsync(request);
        var refreshes = _server.Stats.RefreshTokenGrants;
        // The intent is already written when the request reaches the proxy; stop the database there.
        _proxy.Inject(new Fault.BeforeForward(_postgres.StopAsync), "refresh_token");

        await GrpcAssert.FailsWith(StatusCode.Unavailable, "PROVIDER_UNAVAILABLE",
            () => _silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "durable", ForceRefresh = true }).ResponseAsync);
        Assert.Equal(refreshes + 1, _server.Stats.RefreshTokenGrants);

        // While the write fails, callers get UNAVAILABLE rather than a token that is not yet durable.
        await GrpcAssert.FailsWith(StatusCode.Unavailable, "PROVIDER_UNAVAILABLE",
            () => _silo.Client.GetAccessTokenAsync(request).ResponseAsync);

        await _postgres.StartAgainAsync();
        AccessToken? after = null;
        for (var attempt = 0; attempt < 50 && after is null; attempt++)
        {
            try
            {
                after = await _silo.Client.GetAccessTokenAsync(request);
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable)
            {
                await Task.Delay(200);
            }
        }
        Assert.NotNull(after);
        Assert.Equal(refreshes + 1, _server.Stats.RefreshTokenGrants);
        TokenAssert.Different(before.AccessToken_, after!.AccessToken_);
        Assert.True(await _server.IsActiveAsync(after.AccessToken_));

        // It is durable: a fresh activation reads it back from PostgreSQL, and the refresh token it holds is
        // the rotated one (the server accepts it; the spent one was never sent again).
        await _silo.Grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        var reread = await _silo.Client.GetAccessTokenAsync(request);
        TokenAssert.Same(after.AccessToken_, reread.AccessToken_);
        Assert.Equal(refreshes + 1, _server.Stats.RefreshTokenGrants);
        var next = await _silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "durable", ForceRefresh = true });
        Assert.True(await _server.IsActiveAsync(next.AccessToken_));
        Assert.Equal(refreshes + 2, _server.Stats.RefreshTokenGrants);
        Assert.Equal(0, _server.Stats.RefreshTokenRejections);
    }

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        await _proxy.DisposeAsync();
        await _server.DisposeAsync();
        await _postgres.DisposeAsync();
    }
}
