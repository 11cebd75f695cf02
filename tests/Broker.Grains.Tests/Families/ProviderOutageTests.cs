using Broker.Testing;
using Broker.Testing.Hosting;
using Broker.Testing.Processes;
using Broker.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Broker.Grains.Tests.Families;

/// <summary>Provider "down" is the same server, but its token endpoint is a port where nothing listens.</summary>
public sealed class OutageBroker : ProxiedBroker
{
    protected override Dictionary<string, string?> Settings => ProviderSettings.Merge(
        ProviderSettings.For("down", Server),
        new() { ["Broker:Providers:down:TokenEndpoint"] = $"http://127.0.0.1:{FreePort.Next()}/token" });
}

public sealed class ProviderOutageTests(OutageBroker broker) : IClassFixture<OutageBroker>
{
    [Fact]
    public async Task While_the_provider_is_down_valid_tokens_are_served_and_refreshes_fail_fast_without_harm()
    {
        var families = new List<(string Subject, string AccessToken)>();
        for (var i = 0; i < 12; i++)
        {
            var held = await broker.Direct.AuthorizeAsync($"outage-{i}", "api.read");
            await broker.Silo.Client.ImportTokensAsync(new ImportTokensRequest
            {
                Provider = "down",
                Subject = $"outage-{i}",
                AccessToken = held.AccessToken,
                RefreshToken = held.RefreshToken!,
                AccessTokenExpiresAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddSeconds(held.ExpiresIn)),
            });
            families.Add(($"outage-{i}", held.AccessToken));
        }

        foreach (var (subject, accessToken) in families)
        {
            // A caller that needs a new token: UNAVAILABLE (first from refused connections, then from the open circuit).
            await GrpcAssert.FailsWith(StatusCode.Unavailable, "PROVIDER_UNAVAILABLE",
                () => broker.Silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "down", Subject = subject, ForceRefresh = true }).ResponseAsync);
            // A caller whose token is still good: served from memory.
            var cached = await broker.Silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "down", Subject = subject });
            TokenAssert.Same(accessToken, cached.AccessToken_);
            var description = await broker.Silo.Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "down", Subject = subject });
            Assert.Equal("active", description.Status);
            Assert.Equal("not_sent", description.LastRefreshOutcome);
        }
    }
}
