using Broker.Testing;
using Broker.V1;
using Grpc.Core;

namespace Broker.Silo.Tests.Api;

/// <summary>An import is a new grant: through gRPC, against the real authorization server.</summary>
public sealed class ImportReplacesGrantTests(EmbeddedBroker broker) : IClassFixture<EmbeddedBroker>
{
    private TokenBroker.TokenBrokerClient Client => broker.Silo.Client;

    [Fact]
    public async Task An_import_without_a_refresh_token_leaves_the_family_without_the_previous_grants()
    {
        await Broker.Testing.Hosting.AuthorizationFlow.AuthorizeAsync(broker.Silo, "test", "replaced-by-import", "api.read");
        var refreshes = broker.Server.Stats.RefreshTokenGrants;

        await Client.ImportTokensAsync(new ImportTokensRequest
        {
            Provider = "test", Subject = "replaced-by-import", AccessToken = "another-accounts-access-token", Scopes = { "api.read" },
        });

        var family = await Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = "replaced-by-import" });
        Assert.Equal("active", family.Status);
        Assert.False(family.HasRefreshToken);
        // Nothing to refresh with: the old grant's refresh token is not used to bring the old account back, and a forced
        // refresh says why it cannot (issue 17: never a quiet answer from cache).
        await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "REAUTHORIZATION_REQUIRED", () => Client.GetAccessTokenAsync(
            new GetAccessTokenRequest { Provider = "test", Subject = "replaced-by-import", ForceRefresh = true }).ResponseAsync);
        var served = await Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "replaced-by-import" });
        Assert.Equal(("another-accounts-access-token", "cache"), (served.AccessToken_, served.Source));
        Assert.Equal(refreshes, broker.Server.Stats.RefreshTokenGrants);
    }
}
