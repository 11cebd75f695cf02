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
    public async Task The_keep_alive_reminder_runs_on_the_silo_clock_and_keeps_an_idle_family_alive()
    {
        var family = await cluster.ImportedFamily("idle-reminded");

        // Orleans' reminder service ticks on the silo's TimeProvider: half-interval ticks, the second one due.
        cluster.Clock.Advance(TimeSpan.FromHours(12));
        await Task.Delay(200);
        Assert.Equal(0, (await family.Describe()).RefreshCount);
        cluster.Clock.Advance(TimeSpan.FromHours(12));
        for (var i = 0; i < 500 && (await family.Describe()).RefreshCount == 0; i++) await Task.Delay(10);

        var described = await family.Describe();
        Assert.Equal((1L, FamilyStatus.Active, RefreshOutcome.Issued), (described.RefreshCount, described.Status, described.LastRefreshOutcome));
    }

    [Fact]
    public async Task The_keep_alive_refreshes_at_its_interval_not_before_and_a_tick_that_finds_the_refresh_running_ends_with_it()
    {
        var family = await cluster.ImportedFamily("idle");
        var reminder = family.AsReference<IRemindable>();
        var tick = new TickStatus(DateTime.UtcNow, TimeSpan.FromHours(12), DateTime.UtcNow);

        cluster.Clock.Advance(TimeSpan.FromDays(1) - TimeSpan.FromMilliseconds(1));
        await reminder.ReceiveReminder("keep-alive", tick);
        Assert.Equal(0, (await family.Describe()).RefreshCount);

        // The reminder service's own tick at the interval starts the refresh; the provider holds it.
        var sent = cluster.Endpoint.RefreshesSent.Count;
        cluster.Endpoint.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        cluster.Clock.Advance(TimeSpan.FromMilliseconds(1));
        await FakeClockCluster.Eventually(() => cluster.Endpoint.RefreshesSent.Count > sent, "the reminder's own tick to send the refresh");
        var second = reminder.ReceiveReminder("keep-alive", tick);
        await Task.Delay(50);
        cluster.Endpoint.Hold.SetResult();
        await second;

        var described = await family.Describe();
        Assert.Equal((1L, FamilyStatus.Active, RefreshOutcome.Issued), (described.RefreshCount, described.Status, described.LastRefreshOutcome));
        Assert.Equal(sent + 1, cluster.Endpoint.RefreshesSent.Count);
        cluster.Endpoint.Hold = null;
    }
}
