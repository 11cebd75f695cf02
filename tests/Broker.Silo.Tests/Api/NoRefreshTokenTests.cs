using System.Net;
using Broker.Testing;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Hosting;
using Broker.V1;
using Grpc.Core;

namespace Broker.Silo.Tests.Api;

/// <summary>
/// An authorization without <c>offline_access</c>: the server issues no refresh token. The broker says so (the
/// callback page, <c>DescribeFamily</c>'s reason), a forced refresh says why it cannot refresh instead of answering
/// from the cache, and once the access token has expired the family reads <c>reauthorization_required</c>.
/// </summary>
public sealed class NoRefreshTokenTests : IAsyncLifetime
{
    private TestAuthorizationServer _server = null!;
    private BrokerSilo _silo = null!;
    private readonly CapturingLoggerProvider _logs = new();

    public async Task InitializeAsync()
    {
        _server = await TestAuthorizationServer.StartAsync(new TestAuthorizationServerOptions { AccessTokenLifetime = TimeSpan.FromSeconds(3) });
        var settings = ProviderSettings.For("plain", _server);
        settings.Remove("Broker:Providers:plain:Scopes:0"); // no offline_access
        settings["Broker:Families:MinForcedRefreshInterval"] = "00:00:00";
        _silo = await BrokerSilo.StartAsync(new BrokerSiloSettings { Settings = settings, LoggerProvider = _logs });
        await _server.AddRedirectUriAsync("broker", _silo.RedirectUri("plain"));
    }

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task A_family_without_a_refresh_token_says_so_and_reads_reauthorization_required_once_its_token_expired()
    {
        var redirect = await AuthorizationFlow.ObtainRedirectAsync(_silo, "plain", "no-offline", ["api.read"]);
        using var page = await AuthorizationFlow.DeliverAsync(_silo, redirect);
        var text = await page.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("no refresh token", text, StringComparison.Ordinal);
        Assert.Contains("offline_access", text, StringComparison.Ordinal);
        Assert.Contains(_logs.Entries, e => e.StartsWith("Broker.Audit", StringComparison.Ordinal) && e.Contains("ok_no_refresh_token", StringComparison.Ordinal));

        var request = new DescribeFamilyRequest { Provider = "plain", Subject = "no-offline" };
        var described = await _silo.Client.DescribeFamilyAsync(request);
        Assert.Equal("active", described.Status);
        Assert.False(described.HasRefreshToken);
        Assert.Equal("no_refresh_token", described.StatusReason);

        var forced = await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "REAUTHORIZATION_REQUIRED", () =>
            _silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "plain", Subject = "no-offline", ForceRefresh = true }).ResponseAsync);
        Assert.Equal("no_refresh_token", forced.GetDetail<Google.Rpc.ErrorInfo>()!.Metadata["detail"]);
        Assert.Contains("offline_access", forced.Message, StringComparison.Ordinal);

        // The held token still serves while it is valid.
        var served = await _silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "plain", Subject = "no-offline", MinTtlSeconds = 1 });
        Assert.Equal("cache", served.Source);

        await Task.Delay(served.ExpiresAt.ToDateTimeOffset() - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(500));
        var expired = await _silo.Client.DescribeFamilyAsync(request);
        Assert.Equal("reauthorization_required", expired.Status);
        Assert.Equal("no_refresh_token", expired.StatusReason);
        var refused = await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "REAUTHORIZATION_REQUIRED", () =>
            _silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "plain", Subject = "no-offline" }).ResponseAsync);
        Assert.Equal("no_refresh_token", refused.GetDetail<Google.Rpc.ErrorInfo>()!.Metadata["detail"]);
    }
}
