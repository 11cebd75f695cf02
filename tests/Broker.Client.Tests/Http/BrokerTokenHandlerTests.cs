using Broker.Testing;
using Broker.Testing.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Client.Tests.Http;

[Collection(ClientCollection.Name)]
public sealed class BrokerTokenHandlerTests(ClientFixture fixture)
{
    private HttpClient UserApi(string user)
    {
        var client = fixture.Services.GetRequiredService<IHttpClientFactory>().CreateClient("user-api");
        client.DefaultRequestHeaders.Add("X-User", user);
        return client;
    }

    [Fact]
    public async Task A_401_from_the_api_gets_one_forced_refresh_and_one_retry()
    {
        await AuthorizationFlow.AuthorizeAsync(fixture.Silo, "test", "handler-user", "api.read");
        var api = UserApi("handler-user");
        Assert.Equal("data", await api.GetStringAsync("data"));
        var held = await fixture.Services.GetRequiredService<BrokerClient>().GetAccessTokenAsync("test", "handler-user");
        var refreshes = fixture.Server.Stats.RefreshTokenGrants;

        // The token the handler holds is revoked at the server: the API now refuses it.
        await fixture.Direct.RevokeAsync(held.AccessToken);
        var answer = await api.GetStringAsync("data");

        Assert.Equal("data", answer);
        Assert.Equal(refreshes + 1, fixture.Server.Stats.RefreshTokenGrants);
    }

    [Fact]
    public async Task Tokens_are_reused_until_shortly_before_expiry()
    {
        await AuthorizationFlow.AuthorizeAsync(fixture.Silo, "test", "reuse-user", "api.read");
        // The service's clock can be moved forward; the broker, the server and the API keep real time.
        var clock = new ShiftedClock();
        await using var services = fixture.ClientServices(clock);
        var before = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<BrokerClientOptions>>().Value.HandlerRefreshBeforeExpiry;
        using var meters = MeterCapture.ForSilo(fixture.Silo.Services);
        var api = services.GetRequiredService<IHttpClientFactory>().CreateClient("user-api");
        api.DefaultRequestHeaders.Add("X-User", "reuse-user");
        double Served() => meters.Sum("broker.tokens.served");

        for (var i = 0; i < 10; i++) Assert.Equal("data", await api.GetStringAsync("data"));
        Assert.Equal(1, Served());
        var expiresAt = (await fixture.Services.GetRequiredService<BrokerClient>().GetAccessTokenAsync("test", "reuse-user")).ExpiresAt;
        Assert.Equal(2, Served()); // that look-up itself

        // Up to just over the refresh margin before expiry, the handler keeps its token.
        clock.Offset = expiresAt - DateTimeOffset.UtcNow - before - TimeSpan.FromSeconds(5);
        Assert.Equal("data", await api.GetStringAsync("data"));
        Assert.Equal(2, Served());

        // Inside the margin it asks the broker again, once, and then holds the answer.
        clock.Offset = expiresAt - DateTimeOffset.UtcNow - before + TimeSpan.FromSeconds(5);
        Assert.Equal("data", await api.GetStringAsync("data"));
        Assert.Equal(3, Served());
    }

    private sealed class ShiftedClock : TimeProvider
    {
        public TimeSpan Offset { get; set; }

        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Offset;
    }

    [Fact]
    public async Task Insufficient_scope_becomes_a_typed_error()
    {
        await AuthorizationFlow.AuthorizeAsync(fixture.Silo, "test", "scope-user", "api.read");

        var ex = await Assert.ThrowsAsync<InsufficientScopeException>(() => UserApi("scope-user").GetAsync("admin"));

        Assert.Equal("api.admin", ex.RequiredScope);
    }

    [Fact]
    public async Task A_429_surfaces_its_retry_after()
    {
        await AuthorizationFlow.AuthorizeAsync(fixture.Silo, "test", "busy-user", "api.read");

        var ex = await Assert.ThrowsAsync<ExternalApiThrottledException>(() => UserApi("busy-user").GetAsync("busy"));

        Assert.Equal(TimeSpan.FromSeconds(7), ex.RetryAfter);
    }

    [Fact]
    public async Task A_user_without_authorization_gets_a_typed_broker_error()
    {
        var ex = await Assert.ThrowsAsync<BrokerClientException>(() => UserApi("stranger").GetAsync("data"));

        Assert.Equal(BrokerReasons.AuthorizationRequired, ex.Reason);
        Assert.True(ex.NeedsAuthorization);
    }

    [Fact]
    public async Task Client_credentials_variant_calls_the_api_with_the_service_token()
    {
        var api = fixture.Services.GetRequiredService<IHttpClientFactory>().CreateClient("service-api");

        Assert.Equal("data", await api.GetStringAsync("data"));
    }
}
