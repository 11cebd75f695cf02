using Broker.Testing;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Hosting;
using Broker.V1;

namespace Broker.Grains.Tests.Families;

/// <summary>Access tokens live 6 s; refresh-ahead starts 3 s before expiry (half the lifetime), callers want 1 s.</summary>
public sealed class RefreshAheadBroker : ProxiedBroker
{
    protected override TestAuthorizationServerOptions ServerOptions => new() { AccessTokenLifetime = TimeSpan.FromSeconds(6) };

    protected override Dictionary<string, string?> Settings => new()
    {
        ["Broker:Families:ExpiryBuffer"] = "00:00:04",
        ["Broker:Families:RefreshAheadJitter"] = "0",
    };
}

public sealed class RefreshAheadTests(RefreshAheadBroker broker) : IClassFixture<RefreshAheadBroker>
{
    [Fact]
    public async Task Family_in_use_is_refreshed_before_callers_need_it()
    {
        await AuthorizationFlow.AuthorizeAsync(broker.Silo, "test", "ahead", "api.read");
        var request = new GetAccessTokenRequest { Provider = "test", Subject = "ahead", MinTtlSeconds = 1 };
        var first = await broker.Silo.Client.GetAccessTokenAsync(request);
        var refreshes = broker.Server.Stats.RefreshTokenGrants;

        // Past the refresh-ahead point, still outside the callers' 1 s buffer.
        var wait = first.ExpiresAt.ToDateTimeOffset() - TimeSpan.FromSeconds(2.8) - DateTimeOffset.UtcNow;
        if (wait > TimeSpan.Zero) await Task.Delay(wait);

        var seen = new List<AccessToken>();
        for (var i = 0; i < 40 && (seen.Count == 0 || seen[^1].AccessToken_ == first.AccessToken_); i++)
        {
            seen.Add(await broker.Silo.Client.GetAccessTokenAsync(request));
            await Task.Delay(25);
        }

        TokenAssert.Different(first.AccessToken_, seen[^1].AccessToken_);
        // No caller waited on the server: while the refresh-ahead awaited it, every caller got the token in hand. The one
        // that first gets the new token may have joined its storing (the rotated refresh token is stored before anyone
        // gets the new access token), which under load takes long enough to land a call in (a suite run, 6 December).
        Assert.All(seen.SkipLast(1).Select(token => token.Source), source => Assert.Equal("cache", source));
        Assert.Contains(seen[^1].Source, new[] { "cache", "refresh" });
        Assert.Equal(refreshes + 1, broker.Server.Stats.RefreshTokenGrants);
    }
}
