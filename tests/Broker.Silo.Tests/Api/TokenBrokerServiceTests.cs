using Broker.Testing;
using Broker.Testing.Hosting;
using Broker.V1;
using Grpc.Core;

namespace Broker.Silo.Tests.Api;

public sealed class TokenBrokerServiceTests(EmbeddedBroker broker) : IClassFixture<EmbeddedBroker>
{
    private TokenBroker.TokenBrokerClient Client => broker.Silo.Client;

    [Fact]
    public async Task Authorization_code_flow_yields_a_token_the_server_reports_active()
    {
        await AuthorizationFlow.AuthorizeAsync(broker.Silo, "test", "user-flow", "api.read");

        var token = await Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "user-flow" });

        Assert.True(await broker.Server.IsActiveAsync(token.AccessToken_));
        Assert.Equal("Bearer", token.TokenType);
        Assert.Contains("api.read", token.Scopes);
        Assert.Equal("cache", token.Source);
        var description = await Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = "user-flow" });
        Assert.Equal("active", description.Status);
        Assert.True(description.HasRefreshToken);
    }

    [Fact]
    public async Task Each_refresh_rotates_the_refresh_token_and_the_server_sees_no_reuse()
    {
        await AuthorizationFlow.AuthorizeAsync(broker.Silo, "test", "user-rotation", "api.read");
        var first = await Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "user-rotation" });
        var rejectionsBefore = broker.Server.Stats.RefreshTokenRejections;
        var tokens = new List<string> { first.AccessToken_ };

        // Three refreshes in a row: a rotated token stored in the wrong place only shows on the second or third.
        for (var round = 0; round < 3; round++)
        {
            var refreshed = await Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "user-rotation", ForceRefresh = true });
            Assert.Equal("refresh", refreshed.Source);
            tokens.Add(refreshed.AccessToken_);
        }

        TokenAssert.DistinctCount(4, tokens);
        Assert.Equal(rejectionsBefore, broker.Server.Stats.RefreshTokenRejections);
        Assert.True(await broker.Server.IsActiveAsync(tokens[^1]));
        var description = await Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = "user-rotation" });
        Assert.Equal(3, description.RefreshCount);
        Assert.Equal("issued", description.LastRefreshOutcome);
    }

    [Fact]
    public async Task Client_credentials_token_is_cached_per_scope_set()
    {
        var before = broker.Server.Stats.ClientCredentialsGrants;
        var read = await Client.GetClientTokenAsync(new GetClientTokenRequest { Provider = "test", Scopes = { "api.read" } });
        var again = await Client.GetClientTokenAsync(new GetClientTokenRequest { Provider = "test", Scopes = { "api.read", "api.read" } });
        var write = await Client.GetClientTokenAsync(new GetClientTokenRequest { Provider = "test", Scopes = { "api.write" } });

        TokenAssert.Same(read.AccessToken_, again.AccessToken_);
        Assert.Equal("client_credentials", read.Source);
        Assert.Equal("cache", again.Source);
        TokenAssert.Different(read.AccessToken_, write.AccessToken_);
        Assert.Equal(before + 2, broker.Server.Stats.ClientCredentialsGrants);
        Assert.True(await broker.Server.IsActiveAsync(read.AccessToken_));
    }

    [Fact]
    public async Task Revoked_family_is_revoked_upstream_and_needs_a_new_authorization()
    {
        await AuthorizationFlow.AuthorizeAsync(broker.Silo, "test", "user-revoke", "api.read");
        var token = await Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "user-revoke" });

        await Client.RevokeFamilyAsync(new RevokeFamilyRequest { Provider = "test", Subject = "user-revoke" });

        Assert.False(await broker.Server.IsActiveAsync(token.AccessToken_));
        await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "REAUTHORIZATION_REQUIRED",
            () => Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "user-revoke" }).ResponseAsync);
        var description = await Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = "user-revoke" });
        Assert.Equal("revoked", description.Status);
        Assert.False(description.HasRefreshToken);
    }

    [Fact]
    public async Task Unknown_family_requires_authorization()
    {
        await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "AUTHORIZATION_REQUIRED",
            () => Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "nobody" }).ResponseAsync);
    }

    [Fact]
    public async Task Unknown_provider_is_not_found()
    {
        await GrpcAssert.FailsWith(StatusCode.NotFound, "UNKNOWN_PROVIDER",
            () => Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "nope", Subject = "alice" }).ResponseAsync);
    }

    [Theory]
    [InlineData("", "alice")]
    [InlineData("Test", "alice")]
    [InlineData("test", "")]
    [InlineData("test", "has space")]
    [InlineData("test", "ümlaut")]
    public async Task Malformed_provider_or_subject_is_an_invalid_argument(string provider, string subject)
    {
        await GrpcAssert.FailsWith(StatusCode.InvalidArgument, "INVALID_ARGUMENT",
            () => Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = provider, Subject = subject }).ResponseAsync);
    }

    [Fact]
    public async Task Malformed_scope_is_an_invalid_argument_before_anything_is_started()
    {
        await GrpcAssert.FailsWith(StatusCode.InvalidArgument, "INVALID_ARGUMENT",
            () => Client.BeginAuthorizationAsync(new BeginAuthorizationRequest { Provider = "test", Subject = "alice", Scopes = { "bad\"scope" } }).ResponseAsync);
    }
}
