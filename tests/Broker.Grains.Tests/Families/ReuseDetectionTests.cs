using Broker.Testing;
using Broker.Testing.Faults;
using Broker.Testing.Hosting;
using Broker.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Broker.Grains.Tests.Families;

public sealed class ReuseDetectionTests(ProxiedBroker broker) : IClassFixture<ProxiedBroker>
{
    private ImportTokensRequest Import(string subject, Testing.AuthorizationServer.DirectClient.Tokens tokens) => new()
    {
        Provider = "test",
        Subject = subject,
        AccessToken = tokens.AccessToken,
        RefreshToken = tokens.RefreshToken ?? "",
        AccessTokenExpiresAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddSeconds(tokens.ExpiresIn)),
        Scopes = { tokens.Scope.Split(' ', StringSplitOptions.RemoveEmptyEntries) },
    };

    [Fact]
    public async Task Imported_tokens_are_served_and_refreshed()
    {
        var held = await broker.Direct.AuthorizeAsync("import-user", "api.read");

        await broker.Silo.Client.ImportTokensAsync(Import("import-user", held));
        await broker.Silo.Client.ImportTokensAsync(Import("import-user", held)); // the same tokens again: no change

        var served = await broker.Silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "import-user" });
        TokenAssert.Same(held.AccessToken, served.AccessToken_);
        var refreshed = await broker.Silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "import-user", ForceRefresh = true });
        Assert.True(await broker.Server.IsActiveAsync(refreshed.AccessToken_));
    }

    [Fact]
    public async Task Importing_a_superseded_refresh_token_revokes_the_family()
    {
        var held = await broker.Direct.AuthorizeAsync("theft-user", "api.read");
        await broker.Silo.Client.ImportTokensAsync(Import("theft-user", held));
        var current = await broker.Silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "theft-user", ForceRefresh = true });
        Assert.True(await broker.Server.IsActiveAsync(current.AccessToken_));

        // A copy of the refresh token the broker has since rotated away turns up again.
        await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "TOKEN_REUSE_DETECTED",
            () => broker.Silo.Client.ImportTokensAsync(Import("theft-user", held)).ResponseAsync);

        Assert.False(await broker.Server.IsActiveAsync(current.AccessToken_));
        var description = await broker.Silo.Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = "theft-user" });
        Assert.Equal("revoked", description.Status);
        Assert.Equal("token_reuse_detected", description.StatusReason);
        await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "REAUTHORIZATION_REQUIRED",
            () => broker.Silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "theft-user" }).ResponseAsync);
    }

    [Fact]
    public async Task Refresh_token_used_by_someone_else_is_reported_as_possible_theft()
    {
        var held = await broker.Direct.AuthorizeAsync("used-elsewhere", "api.read");
        await broker.Silo.Client.ImportTokensAsync(Import("used-elsewhere", held));
        // The service that handed the tokens over kept a copy and refreshes with it.
        Assert.NotNull(await broker.Direct.RefreshAsync(held.RefreshToken!));

        var status = await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "REAUTHORIZATION_REQUIRED",
            () => broker.Silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "used-elsewhere", ForceRefresh = true }).ResponseAsync);

        var description = await broker.Silo.Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = "used-elsewhere" });
        Assert.Equal("invalid_grant_possible_theft", description.StatusReason);
        Assert.Equal("invalid_grant", description.LastRefreshOutcome);
    }

    [Fact]
    public async Task A_refusal_without_an_oauth_error_body_is_still_a_refusal_and_reported_as_possible_theft()
    {
        var held = await broker.Direct.AuthorizeAsync("bare-refusal", "api.read");
        await broker.Silo.Client.ImportTokensAsync(Import("bare-refusal", held));
        Assert.NotNull(await broker.Direct.RefreshAsync(held.RefreshToken!)); // someone else redeemed it
        // The server refuses the spent token (400 invalid_grant); the proxy strips the body, as some servers send none.
        broker.Proxy.Inject(new Fault.StripBody(), "refresh_token");

        var status = await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "REAUTHORIZATION_REQUIRED",
            () => broker.Silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "bare-refusal", ForceRefresh = true }).ResponseAsync);

        Assert.Equal("http_400", status.GetDetail<Google.Rpc.ErrorInfo>()!.Metadata["detail"]);
        var description = await broker.Silo.Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = "bare-refusal" });
        Assert.Equal(("reauthorization_required", "refused_without_error", "refused"),
            (description.Status, description.StatusReason, description.LastRefreshOutcome));
    }

    [Theory]
    [InlineData("", "r")]
    [InlineData("has space", "r")]
    [InlineData("a", "new\nline")]
    public async Task Malformed_import_is_an_invalid_argument_and_changes_nothing(string access, string refresh)
    {
        await GrpcAssert.FailsWith(StatusCode.InvalidArgument, "INVALID_ARGUMENT",
            () => broker.Silo.Client.ImportTokensAsync(new ImportTokensRequest { Provider = "test", Subject = "bad-import", AccessToken = access, RefreshToken = refresh }).ResponseAsync);
        var description = await broker.Silo.Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = "bad-import" });
        Assert.Equal("none", description.Status);
    }
}
