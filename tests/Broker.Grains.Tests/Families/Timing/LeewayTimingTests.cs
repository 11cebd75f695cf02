using Broker.Abstractions.Grains;
using Broker.Abstractions.Tokens;
using Broker.Grains.Families;
using Broker.Grains.Tests.Hosting;
using Orleans.Runtime;

namespace Broker.Grains.Tests.Families.Timing;

/// <summary>A provider that accepts a refresh token again for 60 s, and revokes idle refresh tokens after a day.</summary>
public sealed class LeewayCluster : FakeClockCluster
{
    protected override Dictionary<string, string?> Settings => new()
    {
        ["Broker:Providers:test:RefreshTokenReuseLeeway"] = "00:01:00",
        ["Broker:Providers:test:KeepAliveInterval"] = "1.00:00:00",
    };
}

public sealed class LeewayTimingTests(LeewayCluster cluster) : IClassFixture<LeewayCluster>
{
    [Fact]
    public async Task An_interrupted_refresh_inside_the_leeway_is_replayed_after_the_lease_and_the_family_lives_on()
    {
        var family = await cluster.ImportedFamily("replayed");
        cluster.Clock.Advance(TimeSpan.FromMinutes(10));
        var stored = cluster.Storage.Read<TokenFamilyState>("family", family.GetGrainId())!;
        cluster.Storage.WriteBehindTheGrain("family", family.GetGrainId(),
            stored with { Intent = new RefreshIntent(Guid.NewGuid(), stored.Generation + 1, cluster.Clock.GetUtcNow()) });
        var sent = cluster.Endpoint.RefreshesSent.Count;

        var token = await cluster.WhileTimePasses(family.GetAccessToken(TimeSpan.FromSeconds(30), false), TimeSpan.FromMilliseconds(100));

        Assert.Equal(TokenSource.Refresh, token.Source);
        Assert.Equal("replayed-refresh-", cluster.Endpoint.RefreshesSent.Last()[..17]); // the interrupted token, sent again
        Assert.Equal(sent + 1, cluster.Endpoint.RefreshesSent.Count);
        Assert.Equal(FamilyStatus.Active, (await family.Describe()).Status);
    }

    [Fact]
    public async Task The_keep_alive_refreshes_a_family_left_idle_for_its_interval_and_not_before()
    {
        var family = await cluster.ImportedFamily("idle");
        var reminder = family.AsReference<IRemindable>();
        var tick = new TickStatus(DateTime.UtcNow, TimeSpan.FromHours(12), DateTime.UtcNow);

        cluster.Clock.Advance(TimeSpan.FromDays(1) - TimeSpan.FromMilliseconds(1));
        await reminder.ReceiveReminder("keep-alive", tick);
        Assert.Equal(0, (await family.Describe()).RefreshCount);

        cluster.Clock.Advance(TimeSpan.FromMilliseconds(1));
        await reminder.ReceiveReminder("keep-alive", tick);
        var described = await family.Describe();
        Assert.Equal((1L, FamilyStatus.Active, RefreshOutcome.Issued), (described.RefreshCount, described.Status, described.LastRefreshOutcome));
    }
}
