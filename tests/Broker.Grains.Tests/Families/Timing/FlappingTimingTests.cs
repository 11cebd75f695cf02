using Broker.Abstractions;
using Broker.Abstractions.Events;
using Broker.Grains.Tests.Hosting;
using Broker.OAuth.Tokens;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Grains.Tests.Families.Timing;

/// <summary>Flapping control through the real grain and its outbox, on the fake clock (default window: 15 minutes).</summary>
public sealed class FlappingTimingTests(FakeClockCluster cluster) : IClassFixture<FakeClockCluster>
{
    [Fact]
    public async Task Ten_failures_and_recoveries_inside_the_window_reach_the_outbox_as_one_of_each_and_the_next_counts_the_rest()
    {
        var outbox = cluster.SiloServices.GetRequiredService<IEventOutbox>();
        var family = await cluster.ImportedFamily("flapping");
        for (var i = 0; i < 10; i++)
        {
            cluster.Clock.Advance(TimeSpan.FromSeconds(30));
            cluster.Endpoint.NextRefreshes.Enqueue(() => new TokenEndpointOutcome.Rejected("invalid_grant", 400));
            await Assert.ThrowsAsync<BrokerException>(() => family.GetAccessToken(TimeSpan.FromSeconds(30), forceRefresh: true));
            cluster.Clock.Advance(TimeSpan.FromSeconds(30));
            await family.ImportTokens(cluster.Endpoint.Issue($"flapping-{i}"));
        }

        cluster.Clock.Advance(TimeSpan.FromMinutes(15));
        cluster.Endpoint.NextRefreshes.Enqueue(() => new TokenEndpointOutcome.Rejected("invalid_grant", 400));
        await Assert.ThrowsAsync<BrokerException>(() => family.GetAccessToken(TimeSpan.FromSeconds(30), forceRefresh: true));

        var events = (await outbox.ReadAfterAsync(0, 1000)).Select(s => s.Event).Where(e => e.Subject == "flapping").ToList();
        Assert.Equal(
            [BrokerEventType.FamilyAuthorized, BrokerEventType.FamilyReauthorizationRequired, BrokerEventType.FamilyRecovered, BrokerEventType.FamilyReauthorizationRequired],
            events.Select(e => e.Type));
        Assert.Equal(18, events[^1].Suppressed);
        Assert.All(events, e => Assert.Equal("test", e.Provider));
    }
}
