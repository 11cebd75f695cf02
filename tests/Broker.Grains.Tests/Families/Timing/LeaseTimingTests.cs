using Broker.Abstractions.Grains;
using Broker.Abstractions.Identity;
using Broker.Grains.Tests.Hosting;

namespace Broker.Grains.Tests.Families.Timing;

/// <summary>
/// Served-token leases on the fake clock (default lease 200 ms): a change to what a family serves completes only when
/// the last lease it gave has ended, to the millisecond; a plain GetAccessToken gives no lease and makes nothing wait.
/// </summary>
public sealed class LeaseTimingTests(FakeClockCluster cluster) : IClassFixture<FakeClockCluster>
{
    private static readonly TimeSpan CallerBuffer = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Moment = TimeSpan.FromMilliseconds(100);

    [Fact]
    public async Task A_revocation_completes_only_when_the_last_lease_given_has_ended()
    {
        var family = await cluster.ImportedFamily("lease-revoke");
        var first = await family.LeaseAccessToken(CallerBuffer);
        Assert.Equal(TimeSpan.FromMilliseconds(200), first.Lease);
        cluster.Clock.Advance(TimeSpan.FromMilliseconds(50));
        await family.LeaseAccessToken(CallerBuffer); // the last lease now ends at 250 ms

        var revoke = family.Revoke();
        await Task.Delay(Moment);
        Assert.False(revoke.IsCompleted, "the revocation completed while a lease was running");
        cluster.Clock.Advance(TimeSpan.FromMilliseconds(199));
        await Task.Delay(Moment);
        Assert.False(revoke.IsCompleted, "the revocation completed 1 ms before the last lease ended");

        cluster.Clock.Advance(TimeSpan.FromMilliseconds(1));
        await revoke.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_forced_refresh_answers_with_the_new_token_only_when_the_leases_on_the_old_one_have_ended()
    {
        var family = await cluster.ImportedFamily("lease-rotate");
        var old = await family.LeaseAccessToken(CallerBuffer);

        var refresh = family.GetAccessToken(CallerBuffer, forceRefresh: true);
        await Task.Delay(Moment);
        Assert.False(refresh.IsCompleted, "the refresh answered while a lease on the old token was running");
        cluster.Clock.Advance(TimeSpan.FromMilliseconds(200));

        var rotated = await refresh.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.NotEqual(old.AccessToken, rotated.AccessToken);
        Assert.Equal(TimeSpan.Zero, rotated.Lease);
    }

    [Fact]
    public async Task A_plain_get_gives_no_lease_and_a_revocation_after_it_does_not_wait()
    {
        var family = await cluster.ImportedFamily("lease-none");
        var plain = await family.GetAccessToken(CallerBuffer, false);

        Assert.Equal(TimeSpan.Zero, plain.Lease);
        await family.Revoke().WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_client_token_acquired_anew_is_handed_out_once_the_leases_on_the_one_it_replaces_have_ended()
    {
        var key = new ClientTokenKey(ProviderName.Parse("test"), "broker", ScopeSet.Parse(["lease"]), "");
        var grain = cluster.Grains.GetGrain<IClientTokenGrain>(key.ToGrainKey());
        var issued = await grain.GetAccessToken(CallerBuffer);
        cluster.Clock.Advance((issued.ExpiresAt - cluster.Clock.GetUtcNow()) * 0.6); // past half its lifetime
        var old = await grain.LeaseAccessToken(CallerBuffer);
        Assert.Equal((issued.AccessToken, TimeSpan.FromMilliseconds(200)), (old.AccessToken, old.Lease));

        // A caller that needs more time than the held token has left makes the grain acquire a new one.
        var replaced = grain.LeaseAccessToken(old.ExpiresAt - cluster.Clock.GetUtcNow() + TimeSpan.FromSeconds(1));
        await Task.Delay(Moment);
        Assert.False(replaced.IsCompleted, "the new client token was handed out while a lease on the old one was running");
        cluster.Clock.Advance(TimeSpan.FromMilliseconds(200));

        var fresh = await replaced.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.NotEqual(old.AccessToken, fresh.AccessToken);
        Assert.Equal(TimeSpan.FromMilliseconds(200), fresh.Lease);
    }
}
