using Broker.Abstractions;
using Broker.Abstractions.Grains;
using Broker.Abstractions.Identity;
using Broker.Abstractions.Tokens;
using Broker.Grains.Tests.Hosting;
using Broker.OAuth.Tokens;

namespace Broker.Grains.Tests.Families.Timing;

/// <summary>Imports and authorizations through the real family grain: a new grant never brings an old one back.</summary>
public sealed class GrantReplacementTimingTests(FakeClockCluster cluster) : IClassFixture<FakeClockCluster>
{
    private static readonly TimeSpan CallerBuffer = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Re_importing_the_held_tokens_after_a_refresh_that_kept_the_refresh_token_changes_nothing()
    {
        var held = cluster.Endpoint.Issue("kept");
        var family = cluster.Grains.GetGrain<ITokenFamilyGrain>(new FamilyKey(ProviderName.Parse("test"), Subject.Parse("kept")).ToGrainKey());
        await family.ImportTokens(held);
        // A provider that does not rotate answers the refresh with the same refresh token.
        TokenSet? refreshed = null;
        cluster.Endpoint.NextRefreshes.Enqueue(() => new TokenEndpointOutcome.Issued(
            refreshed = cluster.Endpoint.Issue("kept") with { RefreshToken = held.RefreshToken }));
        cluster.Clock.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(TokenSource.Refresh, (await family.GetAccessToken(CallerBuffer, false)).Source);
        var revokedBefore = cluster.Endpoint.Revoked.Count;

        await family.ImportTokens(held with { ExpiresAt = cluster.Clock.GetUtcNow() + TimeSpan.FromMinutes(10) });

        var description = await family.Describe();
        Assert.Equal((FamilyStatus.Active, true), (description.Status, description.HasRefreshToken));
        Assert.Equal(revokedBefore, cluster.Endpoint.Revoked.Count); // nothing revoked upstream as "reuse"
        var served = await family.GetAccessToken(CallerBuffer, false);
        Assert.Equal((TokenSource.Cache, refreshed!.AccessToken), (served.Source, served.AccessToken));
    }

    [Fact]
    public async Task An_import_without_a_refresh_token_never_refreshes_with_the_previous_one()
    {
        var family = await cluster.ImportedFamily("no-refresh-import");
        var sent = cluster.Endpoint.RefreshesSent.Count;

        await family.ImportTokens(cluster.Endpoint.Issue("other-account") with { RefreshToken = null });
        cluster.Clock.Advance(TimeSpan.FromMinutes(10));

        var error = await Assert.ThrowsAsync<BrokerException>(() => family.GetAccessToken(CallerBuffer, false));
        Assert.Equal(BrokerErrorReason.ReauthorizationRequired, error.Reason);
        Assert.Equal(sent, cluster.Endpoint.RefreshesSent.Count);
        Assert.False((await family.Describe()).HasRefreshToken);
    }
}
