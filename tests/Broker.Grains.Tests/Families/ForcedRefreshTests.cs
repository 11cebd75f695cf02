using Broker.Testing;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Hosting;
using Broker.V1;

namespace Broker.Grains.Tests.Families;

/// <summary>A broker with the production default for forced refreshes (at most one per 30 s per family).</summary>
public sealed class DefaultIntervalBroker : ProxiedBroker
{
    protected override Dictionary<string, string?> Settings => new() { ["Broker:Families:MinForcedRefreshInterval"] = "00:00:30" };
}

public sealed class ForcedRefreshTests(DefaultIntervalBroker broker) : IClassFixture<DefaultIntervalBroker>
{
    [Fact]
    public async Task Force_refresh_cannot_make_the_broker_hammer_the_server()
    {
        await AuthorizationFlow.AuthorizeAsync(broker.Silo, "test", "hammer", "api.read");
        var refreshes = broker.Server.Stats.RefreshTokenGrants;
        var request = new GetAccessTokenRequest { Provider = "test", Subject = "hammer", ForceRefresh = true };

        var results = new List<AccessToken>();
        for (var i = 0; i < 20; i++) results.Add(await broker.Silo.Client.GetAccessTokenAsync(request));
        results.AddRange(await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => broker.Silo.Client.GetAccessTokenAsync(request).ResponseAsync)));

        Assert.Equal(refreshes + 1, broker.Server.Stats.RefreshTokenGrants);
        TokenAssert.AllSame(results.Select(r => r.AccessToken_));
    }
}
