using Broker.Abstractions;
using Broker.Abstractions.Grains;
using Broker.Abstractions.Tokens;
using Broker.Grains.Families;
using Broker.Grains.Tests.Hosting;
using Broker.OAuth.Tokens;

namespace Broker.Grains.Tests.Families.Timing;

/// <summary>The family grain's timing rules on the fast layer: fake clock, scripted endpoint, storage that fails on demand.</summary>
public sealed class FamilyTimingTests(FakeClockCluster cluster) : IClassFixture<FakeClockCluster>
{
    private static readonly TimeSpan CallerBuffer = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_family_in_use_is_refreshed_ahead_so_no_caller_waits_on_the_server()
    {
        var family = await cluster.ImportedFamily("ahead");
        var first = await family.GetAccessToken(CallerBuffer, false);
        var sent = cluster.Endpoint.RefreshesSent.Count;

        // Lifetime 10 min, refresh-ahead 1 min before expiry (the expiry buffer; no jitter).
        cluster.Clock.Advance(TimeSpan.FromMinutes(9) - TimeSpan.FromMilliseconds(1));
        Assert.Equal(TokenSource.Cache, (await family.GetAccessToken(CallerBuffer, false)).Source);
        Assert.Equal(sent, cluster.Endpoint.RefreshesSent.Count);

        cluster.Clock.Advance(TimeSpan.FromMilliseconds(1));
        var during = await family.GetAccessToken(CallerBuffer, false);
        Assert.Equal((TokenSource.Cache, first.AccessToken), (during.Source, during.AccessToken));
        await FakeClockCluster.Eventually(() => cluster.Endpoint.RefreshesSent.Count == sent + 1, "no background refresh");

        var after = await family.GetAccessToken(CallerBuffer, false);
        Assert.NotEqual(first.AccessToken, after.AccessToken);
        Assert.Equal(TokenSource.Cache, after.Source);
        Assert.Equal(sent + 1, cluster.Endpoint.RefreshesSent.Count);
    }

    [Fact]
    public async Task Concurrent_callers_of_an_expired_family_cause_one_refresh()
    {
        var family = await cluster.ImportedFamily("storm");
        cluster.Clock.Advance(TimeSpan.FromMinutes(10));
        var sent = cluster.Endpoint.RefreshesSent.Count;
        cluster.Endpoint.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            var calls = Enumerable.Range(0, 200).Select(_ => family.GetAccessToken(CallerBuffer, false)).ToArray();
            await FakeClockCluster.Eventually(() => cluster.Endpoint.RefreshesSent.Count == sent + 1, "the refresh never started");
            cluster.Endpoint.Hold.SetResult();
            var tokens = await Task.WhenAll(calls);
            Assert.Single(tokens.Select(t => t.AccessToken).Distinct());
            Assert.Equal(sent + 1, cluster.Endpoint.RefreshesSent.Count);
        }
        finally
        {
            cluster.Endpoint.Hold = null;
        }
    }

    [Fact]
    public async Task A_fresh_intent_of_another_activation_is_waited_on_for_its_lease_then_the_outcome_is_unknown()
    {
        var family = await cluster.ImportedFamily("interrupted");
        cluster.Clock.Advance(TimeSpan.FromMinutes(10));
        var stored = cluster.Storage.Read<TokenFamilyState>("family", family.GetGrainId())!;
        // Another activation wrote its intent and died before it could record the answer.
        cluster.Storage.WriteBehindTheGrain("family", family.GetGrainId(),
            stored with { Intent = new RefreshIntent(Guid.NewGuid(), stored.Generation + 1, cluster.Clock.GetUtcNow()) });
        var sent = cluster.Endpoint.RefreshesSent.Count;

        var error = await Assert.ThrowsAsync<BrokerException>(() =>
            cluster.WhileTimePasses(family.GetAccessToken(CallerBuffer, false), TimeSpan.FromMilliseconds(100)));

        Assert.Equal(BrokerErrorReason.RefreshOutcomeUnknown, error.Reason);
        Assert.Equal(sent, cluster.Endpoint.RefreshesSent.Count); // the possibly spent token was never sent again
        var described = await family.Describe();
        Assert.Equal((FamilyStatus.ReauthorizationRequired, FamilyStatusReason.RefreshOutcomeUnknown), (described.Status, described.StatusReason));
    }

    [Fact]
    public async Task Rotated_tokens_are_served_only_once_stored_and_the_spent_token_is_never_sent_again()
    {
        var family = await cluster.ImportedFamily("durable");
        var before = await family.GetAccessToken(CallerBuffer, false);
        var sent = cluster.Endpoint.RefreshesSent.Count;
        // The intent is stored when the request reaches the server; the database goes away there.
        cluster.Endpoint.NextRefreshes.Enqueue(() =>
        {
            cluster.Storage.FailWrites = true;
            return new TokenEndpointOutcome.Issued(cluster.Endpoint.Issue("rotated"));
        });
        try
        {
            var refresh = await Assert.ThrowsAsync<BrokerException>(() =>
                cluster.WhileTimePasses(family.GetAccessToken(CallerBuffer, true), TimeSpan.FromSeconds(1)));
            Assert.Equal(BrokerErrorReason.ProviderUnavailable, refresh.Reason);

            var waiting = await Assert.ThrowsAsync<BrokerException>(() =>
                cluster.WhileTimePasses(family.GetAccessToken(CallerBuffer, false), TimeSpan.FromSeconds(1)));
            Assert.Equal(BrokerErrorReason.ProviderUnavailable, waiting.Reason);
        }
        finally
        {
            cluster.Storage.FailWrites = false;
        }

        // The background retry may be between two attempts, holding the store while it waits PersistRetryDelay: time
        // passes for it as for the calls above (awaited without a clock, this call waited for ever 1 run in 4).
        var after = await cluster.WhileTimePasses(family.GetAccessToken(CallerBuffer, false), TimeSpan.FromSeconds(1));
        Assert.StartsWith("rotated-access-", after.AccessToken);
        Assert.NotEqual(before.AccessToken, after.AccessToken);
        Assert.Equal(sent + 1, cluster.Endpoint.RefreshesSent.Count);
        var stored = cluster.Storage.Read<TokenFamilyState>("family", family.GetGrainId())!;
        Assert.Null(stored.Intent);
        Assert.Equal(1, stored.RefreshCount);
    }

    [Fact]
    public async Task A_family_authorized_again_after_it_stopped_refreshes_again_in_the_same_activation()
    {
        var family = await cluster.ImportedFamily("again");
        cluster.Clock.Advance(TimeSpan.FromMinutes(10));
        cluster.Endpoint.NextRefreshes.Enqueue(() => new TokenEndpointOutcome.Rejected("invalid_grant", 400));
        await Assert.ThrowsAsync<BrokerException>(() => family.GetAccessToken(CallerBuffer, false));
        // A stopped family's refresh ends at once, without waiting on anything: it must not stay "in flight".
        await Assert.ThrowsAsync<BrokerException>(() => family.GetAccessToken(CallerBuffer, false));

        await family.ImportTokens(cluster.Endpoint.Issue("again-new"));
        cluster.Clock.Advance(TimeSpan.FromMinutes(10));
        var sent = cluster.Endpoint.RefreshesSent.Count;

        var token = await family.GetAccessToken(CallerBuffer, false);

        Assert.Equal(TokenSource.Refresh, token.Source);
        Assert.Equal(sent + 1, cluster.Endpoint.RefreshesSent.Count);
    }
}
