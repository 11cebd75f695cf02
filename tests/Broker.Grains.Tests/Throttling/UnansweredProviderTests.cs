using Broker.Abstractions;
using Broker.Abstractions.Grains;
using Broker.Abstractions.Tokens;
using Broker.Grains.Tests.Hosting;
using Broker.OAuth.Tokens;

namespace Broker.Grains.Tests.Throttling;

/// <summary>A provider that accepts a refresh token again for 30 s (OpenIddict's default), as in the soak.</summary>
public sealed class StallCluster : FakeClockCluster
{
    protected override Dictionary<string, string?> Settings => new() { ["Broker:Providers:test:RefreshTokenReuseLeeway"] = "00:00:30" };
}

/// <summary>
/// The soak's main finding (docs/reliability.md): an authorization server that stopped answering in time turned every
/// refresh sent into it into a lost answer, and most families were lost. One unanswered token request now holds back
/// every new refresh of the client, cluster-wide, as a 503 does.
/// </summary>
public sealed class UnansweredProviderTests(StallCluster cluster) : IClassFixture<StallCluster>
{
    private const int Families = 50;

    [Fact]
    public async Task An_unanswered_refresh_holds_back_every_familys_new_refresh_and_no_family_is_lost()
    {
        var families = new List<ITokenFamilyGrain>();
        for (var i = 0; i < Families; i++) families.Add(await cluster.ImportedFamily($"stall-{i}"));
        // Tokens of 10 minutes, an expiry buffer of 1 minute: 40 s left, every family's refresh-ahead is due.
        cluster.Clock.Advance(TimeSpan.FromSeconds(560));
        var sent = cluster.Endpoint.RefreshesSent.Count;
        using var log = cluster.Logs.Window();

        // The first family's refresh goes into a stalled provider and times out; its replay, inside the leeway, hangs
        // there (the fake endpoint holds it) until the stall ends.
        var stall = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        cluster.Endpoint.NextRefreshes.Enqueue(() =>
        {
            cluster.Endpoint.Hold = stall;
            return new TokenEndpointOutcome.OutcomeUnknown("timed out", Unanswered: true);
        });
        Assert.Equal(TokenSource.Cache, (await families[0].GetAccessToken(TimeSpan.FromSeconds(10), false)).Source);
        await FakeClockCluster.Eventually(() => cluster.Endpoint.RefreshesSent.Count == sent + 2, "the lost refresh and its replay were sent");

        // Every other family keeps serving its still-valid token; its refresh-ahead waits instead of going upstream.
        for (var i = 1; i < Families; i++)
            Assert.Equal(TokenSource.Cache, (await families[i].GetAccessToken(TimeSpan.FromSeconds(10), false)).Source);
        await FakeClockCluster.Eventually(
            () => log.Entries.Count(e => e.Contains("#2010", StringComparison.Ordinal)) >= Families - 1 || cluster.Endpoint.RefreshesSent.Count > sent + 2,
            "every held family's refresh-ahead ended");
        Assert.Equal(sent + 2, cluster.Endpoint.RefreshesSent.Count);

        // A caller that needs more than the held token has left: UNAVAILABLE with a retry delay, as a 503 gives; still nothing sent.
        var held = await Assert.ThrowsAsync<BrokerException>(() => families[1].GetAccessToken(TimeSpan.FromMinutes(5), false));
        Assert.Equal((BrokerErrorReason.ProviderUnavailable, "unanswered"), (held.Reason, held.Detail));
        Assert.InRange(held.RetryAfter ?? TimeSpan.Zero, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(5));
        Assert.Equal(sent + 2, cluster.Endpoint.RefreshesSent.Count);

        // The hold ends on its own (5 s): one refresh probes the provider, still stalled; the others wait for it.
        cluster.Clock.Advance(TimeSpan.FromSeconds(5));
        var probe = families[2].GetAccessToken(TimeSpan.FromMinutes(5), false);
        await FakeClockCluster.Eventually(() => cluster.Endpoint.RefreshesSent.Count == sent + 3, "the probe was sent");
        var waiting = await Assert.ThrowsAsync<BrokerException>(() => families[3].GetAccessToken(TimeSpan.FromMinutes(5), false));
        Assert.Equal(BrokerErrorReason.ProviderUnavailable, waiting.Reason);
        Assert.Equal(sent + 3, cluster.Endpoint.RefreshesSent.Count);

        // The stall ends: the replay and the probe are answered, and every family refreshes once; none is lost.
        cluster.Endpoint.Hold = null;
        stall.SetResult();
        await probe;
        foreach (var family in families)
        {
            var token = await family.GetAccessToken(TimeSpan.FromMinutes(5), false);
            Assert.True(token.ExpiresAt - cluster.Clock.GetUtcNow() >= TimeSpan.FromMinutes(5));
            Assert.Equal(FamilyStatus.Active, (await family.Describe()).Status);
        }
        Assert.Equal(sent + 1 + Families, cluster.Endpoint.RefreshesSent.Count);
    }
}
