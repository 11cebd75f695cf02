using Broker.Testing;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Hosting;
using Broker.V1;

namespace Broker.Grains.Tests.Families;

/// <summary>
/// Two clusters on one database hold two activations of the same family at once: the situation Orleans'
/// directory can briefly produce (dotnet/orleans#9855). The storage compare-and-set on the refresh intent
/// must still let only one of them refresh.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class FencingTests(Infrastructure infrastructure) : IAsyncLifetime
{
    private TestAuthorizationServer _server = null!;
    private BrokerSilo _left = null!;
    private BrokerSilo _right = null!;

    public async Task InitializeAsync()
    {
        _server = await TestAuthorizationServer.StartAsync(new TestAuthorizationServerOptions { AccessTokenLifetime = TimeSpan.FromSeconds(3) });
        var database = await infrastructure.NewDatabaseAsync();
        var settings = ProviderSettings.Merge(ProviderSettings.For("test", _server), new() { ["Broker:Families:RefreshAhead"] = "false" });
        var left = ClusterSpec.New(database, infrastructure.Redis.Configuration, settings, serviceId: "shared");
        // Same database, service id and key; its own cluster id: a second, independent directory.
        var right = left with { ClusterId = $"c{Guid.NewGuid():N}" };
        _left = await left.StartSiloAsync();
        _right = await right.StartSiloAsync();
        await _server.AddRedirectUriAsync("broker", _left.RedirectUri("test"));
    }

    [Fact]
    public async Task Two_activations_of_one_family_cause_one_refresh_per_expiry()
    {
        await AuthorizationFlow.AuthorizeAsync(_left, "test", "fenced-user", "api.read");
        var request = new GetAccessTokenRequest { Provider = "test", Subject = "fenced-user", MinTtlSeconds = 1 };
        var current = await _left.Client.GetAccessTokenAsync(request);
        var fromRight = await _right.Client.GetAccessTokenAsync(request); // activates the family in the second cluster
        TokenAssert.Same(current.AccessToken_, fromRight.AccessToken_);
        var refreshes = _server.Stats.RefreshTokenGrants;
        var rejections = _server.Stats.RefreshTokenRejections;

        const int rounds = 3;
        for (var round = 1; round <= rounds; round++)
        {
            var wait = current.ExpiresAt.ToDateTimeOffset() - TimeSpan.FromSeconds(1) - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(50);
            if (wait > TimeSpan.Zero) await Task.Delay(wait);

            var results = await Concurrently.RunAsync(100, i => (i % 2 == 0 ? _left : _right).Client.GetAccessTokenAsync(request).ResponseAsync);

            TokenAssert.AllSame(results.Select(r => r.AccessToken_));
            Assert.Equal(refreshes + round, _server.Stats.RefreshTokenGrants);
            current = results[0];
        }

        Assert.Equal(rejections, _server.Stats.RefreshTokenRejections);
        Assert.True(await _server.IsActiveAsync(current.AccessToken_));
    }

    public async Task DisposeAsync()
    {
        await _left.DisposeAsync();
        await _right.DisposeAsync();
        await _server.DisposeAsync();
    }
}
