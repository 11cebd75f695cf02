using Broker.Abstractions;
using Broker.Abstractions.Grains;
using Broker.Abstractions.Tokens;
using Broker.Grains.Tests.Hosting;
using Broker.OAuth.Tokens;

namespace Broker.Grains.Tests.Throttling;

/// <summary>
/// A provider that takes no connection (the soak's 60 s outage): every family that needed a new token tried, each try
/// spent the client's budget, and once the server was back callers got THROTTLED for another minute. A refused
/// connection now holds back every silo's new requests as an unanswered one does, before any budget is taken.
/// </summary>
public sealed class UnreachableProviderTests(FakeClockCluster cluster) : IClassFixture<FakeClockCluster>
{
    private const int Families = 20;

    [Fact]
    public async Task A_provider_that_takes_no_connection_holds_back_every_new_refresh_and_recovery_refreshes_each_family_once()
    {
        var families = new List<ITokenFamilyGrain>();
        for (var i = 0; i < Families; i++) families.Add(await cluster.ImportedFamily($"down-{i}"));
        cluster.Clock.Advance(TimeSpan.FromMinutes(10)); // every token has expired
        var sent = cluster.Endpoint.RefreshesSent.Count;
        cluster.Endpoint.NextRefreshes.Enqueue(() => new TokenEndpointOutcome.NotSent("no connection to the token endpoint could be made.", Unreachable: true));

        var first = await Assert.ThrowsAsync<BrokerException>(() => families[0].GetAccessToken(TimeSpan.FromSeconds(30), false));
        Assert.Equal(BrokerErrorReason.ProviderUnavailable, first.Reason);

        // The others are held back before anything is sent or any budget taken: UNAVAILABLE, not THROTTLED.
        for (var i = 1; i < Families; i++)
        {
            var held = await Assert.ThrowsAsync<BrokerException>(() => families[i].GetAccessToken(TimeSpan.FromSeconds(30), false));
            Assert.Equal((BrokerErrorReason.ProviderUnavailable, "unanswered"), (held.Reason, held.Detail));
        }
        Assert.Equal(sent + 1, cluster.Endpoint.RefreshesSent.Count);

        // The provider is back: after the hold one request probes it, is answered, and every family refreshes once.
        cluster.Clock.Advance(TimeSpan.FromSeconds(5));
        foreach (var family in families)
        {
            Assert.Equal(TokenSource.Refresh, (await family.GetAccessToken(TimeSpan.FromSeconds(30), false)).Source);
            Assert.Equal(FamilyStatus.Active, (await family.Describe()).Status);
        }
        Assert.Equal(sent + 1 + Families, cluster.Endpoint.RefreshesSent.Count);
    }
}
