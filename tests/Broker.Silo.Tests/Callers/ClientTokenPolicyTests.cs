using Broker.Testing;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Hosting;
using Broker.V1;
using Grpc.Core;
using Xunit;

namespace Broker.Silo.Tests.Callers;

/// <summary>
/// Client-credentials tokens under a narrow policy. The caller "narrow" may have scope api.read and the resource
/// https://api.example/one. Providers: "test" (no default client scopes), "other" (default client scopes api.read),
/// "wide" (default api.read, and a server client that is always granted api.write too, as servers with per-client
/// default scopes do).
/// </summary>
public sealed class ClientPolicyBroker : EmbeddedBroker
{
    public static readonly string NarrowKey = Broker.Silo.Callers.ApiKeyHash.NewKey();
    public const string AllowedResource = "https://api.example/one";

    protected override TestAuthorizationServerOptions ServerOptions => new()
    {
        AccessTokenLifetime = TimeSpan.FromMinutes(10),
        Clients =
        [
            new TestAuthorizationServerClient(),
            new TestAuthorizationServerClient { ClientId = "wide-client", ClientSecret = "wide-secret", ExtraClientCredentialsScopes = ["api.write"] },
        ],
    };

    protected override Dictionary<string, string?> ExtraSettings => ProviderSettings.Merge(
        ProviderSettings.For("wide", Server, "wide-client", "wide-secret"),
        new()
        {
            ["Broker:Providers:wide:ClientCredentialsScopes:0"] = "api.read",
            ["Broker:Providers:other:ClientCredentialsScopes:0"] = "api.read",
        },
        TestCallers.WithApiKey("narrow", NarrowKey, new Dictionary<string, string>
        {
            ["Providers:0"] = "*",
            ["Subjects:0"] = "team-a/*",
            ["Scopes:0"] = "api.read",
            ["Scopes:1"] = "offline_access",
            ["Resources:0"] = AllowedResource,
            ["MayGetClientTokens"] = "true",
        }));

    public TokenBroker.TokenBrokerClient Narrow => new(Silo.Channel.WithBearer(NarrowKey));
}

public sealed class ClientTokenPolicyTests(ClientPolicyBroker broker) : IClassFixture<ClientPolicyBroker>
{
    [Fact]
    public async Task Empty_scopes_mean_the_providers_default_client_scopes_checked_against_the_policy()
    {
        var token = await broker.Narrow.GetClientTokenAsync(new GetClientTokenRequest { Provider = "other" });
        Assert.Equal(["api.read"], token.Scopes);
        Assert.True(await broker.Server.IsActiveAsync(token.AccessToken_));

        // No default configured: the server would choose, which a caller limited to named scopes may not accept blindly.
        var sent = broker.Server.Stats.ClientCredentialsGrants;
        await GrpcAssert.FailsWith(StatusCode.PermissionDenied, "PERMISSION_DENIED",
            () => broker.Narrow.GetClientTokenAsync(new GetClientTokenRequest { Provider = "test" }).ResponseAsync);
        Assert.Equal(sent, broker.Server.Stats.ClientCredentialsGrants);

        // A caller allowed every scope still gets the server's choice.
        var admin = await broker.Silo.Client.GetClientTokenAsync(new GetClientTokenRequest { Provider = "test" });
        Assert.True(await broker.Server.IsActiveAsync(admin.AccessToken_));
    }

    [Fact]
    public async Task Scopes_the_server_granted_beyond_the_policy_are_refused_and_audited()
    {
        using var log = broker.Logs.Window();

        await GrpcAssert.FailsWith(StatusCode.PermissionDenied, "PERMISSION_DENIED",
            () => broker.Narrow.GetClientTokenAsync(new GetClientTokenRequest { Provider = "wide", Scopes = { "api.read" } }).ResponseAsync);
        await GrpcAssert.FailsWith(StatusCode.PermissionDenied, "PERMISSION_DENIED",
            () => broker.Narrow.GetClientTokenAsync(new GetClientTokenRequest { Provider = "wide" }).ResponseAsync);

        Assert.Equal(2, log.Entries.Count(e => e.StartsWith("Broker.Audit", StringComparison.Ordinal)
            && e.Contains("#6010", StringComparison.Ordinal) && e.Contains("Caller=narrow", StringComparison.Ordinal)));
        // The admin, allowed every scope, is handed the same wider token.
        var wide = await broker.Silo.Client.GetClientTokenAsync(new GetClientTokenRequest { Provider = "wide", Scopes = { "api.read" } });
        Assert.Equal(["api.read", "api.write"], wide.Scopes.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_resource_needs_the_callers_allow_list()
    {
        var sent = broker.Server.Stats.ClientCredentialsGrants;
        await GrpcAssert.FailsWith(StatusCode.PermissionDenied, "PERMISSION_DENIED", () => broker.Narrow.GetClientTokenAsync(
            new GetClientTokenRequest { Provider = "other", Scopes = { "api.read" }, Resource = "https://api.example/two" }).ResponseAsync);
        await GrpcAssert.FailsWith(StatusCode.PermissionDenied, "PERMISSION_DENIED", () => broker.Narrow.GetClientTokenAsync(
            new GetClientTokenRequest { Provider = "other", Scopes = { "api.read" }, Resource = ClientPolicyBroker.AllowedResource + "/" }).ResponseAsync);
        Assert.Equal(sent, broker.Server.Stats.ClientCredentialsGrants);

        var allowed = await broker.Narrow.GetClientTokenAsync(
            new GetClientTokenRequest { Provider = "other", Scopes = { "api.read" }, Resource = ClientPolicyBroker.AllowedResource });
        Assert.True(await broker.Server.IsActiveAsync(allowed.AccessToken_));
    }

    [Fact]
    public async Task A_family_imported_with_empty_scopes_is_not_handed_to_a_caller_limited_to_named_scopes()
    {
        await broker.Silo.Client.ImportTokensAsync(new ImportTokensRequest
        {
            Provider = "test", Subject = "team-a/unscoped", AccessToken = "unscoped-imported-access-token", RefreshToken = "unscoped-imported-refresh-token",
        });
        var refreshes = broker.Server.Stats.RefreshTokenGrants;

        await GrpcAssert.FailsWith(StatusCode.PermissionDenied, "PERMISSION_DENIED", () => broker.Narrow.GetAccessTokenAsync(
            new GetAccessTokenRequest { Provider = "test", Subject = "team-a/unscoped" }).ResponseAsync);
        // A forced refresh is refused before it spends the refresh token.
        await GrpcAssert.FailsWith(StatusCode.PermissionDenied, "PERMISSION_DENIED", () => broker.Narrow.GetAccessTokenAsync(
            new GetAccessTokenRequest { Provider = "test", Subject = "team-a/unscoped", ForceRefresh = true }).ResponseAsync);
        Assert.Equal(refreshes, broker.Server.Stats.RefreshTokenGrants);

        // The admin, allowed every scope, is handed what the importer gave.
        var admin = await broker.Silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "team-a/unscoped" });
        Assert.Equal("unscoped-imported-access-token", admin.AccessToken_);
    }
}
