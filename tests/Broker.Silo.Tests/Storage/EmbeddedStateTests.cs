using Broker.Testing;
using Broker.Testing.Hosting;
using Broker.V1;

namespace Broker.Silo.Tests.Storage;

/// <summary>The embedded default keeps state in memory, in the grains' stored form: a family read back from it is whole.</summary>
public sealed class EmbeddedStateTests(EmbeddedBroker broker) : IClassFixture<EmbeddedBroker>
{
    [Fact]
    public async Task A_family_survives_deactivation_in_the_embedded_store()
    {
        await AuthorizationFlow.AuthorizeAsync(broker.Silo, "test", "embedded-durable", "api.read");
        var original = await broker.Silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "embedded-durable" });

        // Every grain goes: the next call reads the family back from the in-memory store.
        await broker.Silo.Grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        var described = await broker.Silo.Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = "embedded-durable" });
        Assert.True(described.HasRefreshToken);
        Assert.Contains("api.read", described.Scopes);

        // The refresh token read back is the current one: the server rotates it without seeing a reuse.
        var rejections = broker.Server.Stats.RefreshTokenRejections;
        var refreshed = await broker.Silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "embedded-durable", ForceRefresh = true });
        Assert.Equal("refresh", refreshed.Source);
        TokenAssert.Different(original.AccessToken_, refreshed.AccessToken_);
        Assert.Equal(rejections, broker.Server.Stats.RefreshTokenRejections);
    }
}
