using System.Net;
using Broker.Testing;
using Broker.Testing.Hosting;
using Broker.V1;

namespace Broker.Silo.Tests.Authorizations;

/// <summary>
/// Identity pinning: a family keeps the upstream account (ID token iss + sub) that first authorized it. Another account
/// is refused unless the caller asked to replace it; any grant replaced is revoked at the provider (RFC 7009).
/// </summary>
public sealed class AccountPinningTests(EmbeddedBroker broker) : IClassFixture<EmbeddedBroker>
{
    /// <summary>Direct completion (the admin test caller may): <paramref name="login"/> logs in for <paramref name="subject"/>.</summary>
    private async Task<HttpResponseMessage> Authorize(string subject, string login, bool replaceAccount = false)
    {
        var redirect = await AuthorizationFlow.ObtainRedirectAsync(broker.Silo, "test", subject, ["openid", "api.read"],
            AuthorizationFlow.LoginAs(login), replaceAccount: replaceAccount);
        return await AuthorizationFlow.DeliverAsync(broker.Silo, redirect);
    }

    private async Task<string> Token(string subject) =>
        (await broker.Silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = subject })).AccessToken_;

    [Fact]
    public async Task An_authorization_by_another_account_is_refused_the_family_keeps_its_tokens_and_the_other_grant_is_revoked()
    {
        using (var first = await Authorize("pin-1", login: "pin-anna")) Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var held = await Token("pin-1");

        using var second = await Authorize("pin-1", login: "pin-bert");

        Assert.Equal(HttpStatusCode.BadRequest, second.StatusCode);
        Assert.Contains("ACCOUNT_MISMATCH", await second.Content.ReadAsStringAsync());
        TokenAssert.Same(held, await Token("pin-1"));
        Assert.True(await broker.Server.IsActiveAsync(held));
        Assert.Equal(1, await broker.Server.ValidRefreshTokensOfAsync("pin-anna"));
        Assert.Equal(0, await broker.Server.ValidRefreshTokensOfAsync("pin-bert"));
    }

    [Fact]
    public async Task Another_account_replaces_the_family_when_asked_and_the_replaced_grant_is_revoked()
    {
        using (var first = await Authorize("pin-2", login: "pin-carl")) Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var old = await Token("pin-2");

        using var second = await Authorize("pin-2", login: "pin-dora", replaceAccount: true);

        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        var replaced = await Token("pin-2");
        Assert.True(await broker.Server.IsActiveAsync(replaced));
        Assert.False(await broker.Server.IsActiveAsync(old));
        Assert.Equal(0, await broker.Server.ValidRefreshTokensOfAsync("pin-carl"));
        Assert.Equal(1, await broker.Server.ValidRefreshTokensOfAsync("pin-dora"));
    }

    [Fact]
    public async Task The_same_account_authorizing_again_revokes_the_old_grant_and_the_new_one_keeps_refreshing()
    {
        using (var first = await Authorize("pin-3", login: "pin-emil")) Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        using (var second = await Authorize("pin-3", login: "pin-emil")) Assert.Equal(HttpStatusCode.OK, second.StatusCode);

        Assert.Equal(1, await broker.Server.ValidRefreshTokensOfAsync("pin-emil"));
        var refreshed = await broker.Silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "pin-3", ForceRefresh = true });
        Assert.Equal("refresh", refreshed.Source);
        Assert.True(await broker.Server.IsActiveAsync(refreshed.AccessToken_));
    }
}
