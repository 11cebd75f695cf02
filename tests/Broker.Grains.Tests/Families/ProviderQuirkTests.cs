using Broker.Testing;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Faults;
using Broker.Testing.Hosting;
using Broker.V1;

namespace Broker.Grains.Tests.Families;

/// <summary>
/// Providers that omit expires_in, or keep the refresh token instead of rotating it. The server is given a
/// long reuse leeway so that an old refresh token stays usable, as at a non-rotating provider.
/// </summary>
public sealed class QuirkyProviderBroker : ProxiedBroker
{
    protected override TestAuthorizationServerOptions ServerOptions => new()
    {
        AccessTokenLifetime = TimeSpan.FromMinutes(10),
        RefreshTokenReuseLeeway = TimeSpan.FromHours(1),
    };

    protected override Dictionary<string, string?> Settings => new() { ["Broker:Providers:test:DefaultAccessTokenLifetime"] = "00:07:00" };
}

public sealed class ProviderQuirkTests(QuirkyProviderBroker broker) : IClassFixture<QuirkyProviderBroker>
{
    [Fact]
    public async Task Token_response_without_expires_in_gets_the_default_lifetime()
    {
        broker.Proxy.Inject(new Fault.StripField("expires_in"), "client_credentials");
        var asked = DateTimeOffset.UtcNow;

        var token = await broker.Silo.Client.GetClientTokenAsync(new GetClientTokenRequest { Provider = "test", Scopes = { "api" } });

        Assert.InRange(token.ExpiresAt.ToDateTimeOffset(), asked.AddMinutes(7).AddSeconds(-5), DateTimeOffset.UtcNow.AddMinutes(7).AddSeconds(5));
    }

    [Fact]
    public async Task Refresh_response_without_refresh_token_keeps_the_old_one()
    {
        await AuthorizationFlow.AuthorizeAsync(broker.Silo, "test", "no-rotation", "api.read");
        broker.Proxy.Inject(new Fault.StripField("refresh_token"), "refresh_token", times: 2);
        var request = new GetAccessTokenRequest { Provider = "test", Subject = "no-rotation", ForceRefresh = true };

        var first = await broker.Silo.Client.GetAccessTokenAsync(request);
        var second = await broker.Silo.Client.GetAccessTokenAsync(request);
        var third = await broker.Silo.Client.GetAccessTokenAsync(request);

        TokenAssert.DistinctCount(3, new[] { first.AccessToken_, second.AccessToken_, third.AccessToken_ });
        Assert.True(await broker.Server.IsActiveAsync(third.AccessToken_));
        var description = await broker.Silo.Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = "no-rotation" });
        Assert.True(description.HasRefreshToken);
        Assert.Equal("active", description.Status);
    }
}
