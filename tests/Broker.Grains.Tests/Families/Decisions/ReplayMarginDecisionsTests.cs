using Broker.Abstractions;
using Broker.Abstractions.Tokens;
using Broker.Grains.Families;
using Broker.OAuth.Providers;
using Broker.OAuth.Tokens;
using static Broker.Grains.Families.FamilyEffect;
using static Broker.Grains.Tests.Families.Decisions.FamilyScenario;

namespace Broker.Grains.Tests.Families.Decisions;

/// <summary>
/// A lost answer is replayed only while the replay can still arrive inside the provider's reuse leeway, counting the token
/// request timeout for its transit: now - intent start + timeout &lt; leeway. Seen in the soak (docs/reliability.md): a
/// replay sent near the end of the leeway reached the server after it, and the server revoked the grant.
/// </summary>
public sealed class ReplayMarginDecisionsTests
{
    private static readonly FamilyRules Rules = new()
    {
        RefreshAhead = false,
        ReuseLeeway = TimeSpan.FromSeconds(30),
        TokenRequestTimeout = TimeSpan.FromSeconds(10),
        RefreshLease = TimeSpan.FromSeconds(15),
    };

    private static readonly TokenEndpointOutcome Lost = new TokenEndpointOutcome.OutcomeUnknown("timed out", Unanswered: true);

    private static FamilyScenario Expiring(FamilyRules rules)
    {
        var family = new FamilyScenario { Rules = rules }.Active(TimeSpan.FromMinutes(10));
        family.Clock.Advance(TimeSpan.FromMinutes(9));
        return family;
    }

    private static FamilyScenario ClaimedAt(FamilyRules rules)
    {
        var family = Expiring(rules);
        Single<ClaimAndSend>(family.On(new FamilyEvent.RefreshTurn(family.State.Generation)));
        return family;
    }

    [Fact]
    public void A_lost_answer_is_replayed_while_the_replay_can_still_arrive_inside_the_leeway()
    {
        var family = ClaimedAt(Rules);
        family.Clock.Advance(TimeSpan.FromMilliseconds(19_999)); // 19.999 s + 10 s < 30 s

        var decision = family.On(new FamilyEvent.RefreshFailed(Lost, Replayed: false));

        Single<Resend>(decision);
        Assert.Equal(FamilyStatus.Active, decision.State.Status);
    }

    [Fact]
    public void A_lost_answer_whose_replay_could_arrive_after_the_leeway_is_not_sent_and_the_reason_says_so()
    {
        var family = ClaimedAt(Rules);
        var token = family.State.AccessToken;
        family.Clock.Advance(TimeSpan.FromMilliseconds(20_000)); // 20 s + 10 s = 30 s: could arrive at the leeway's end

        var decision = family.On(new FamilyEvent.RefreshFailed(Lost, Replayed: false));

        Nothing<Resend>(decision);
        Assert.Equal((FamilyStatus.ReauthorizationRequired, FamilyStatusReason.ReplayOutsideLeeway), (decision.State.Status, decision.State.StatusReason));
        Assert.Null(decision.State.Intent);
        Assert.Same(token, decision.State.AccessToken); // still served while valid
        var error = Single<Fail>(decision).Error;
        Assert.Equal((BrokerErrorReason.RefreshOutcomeUnknown, "replay_outside_leeway"), (error.Reason, error.Detail));
        Assert.Contains("leeway", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_survivor_replays_a_dead_activations_refresh_only_while_the_replay_can_arrive_inside_the_leeway()
    {
        var early = Expiring(Rules);
        early.State = early.State with { Intent = new RefreshIntent(Guid.NewGuid(), 2, early.Clock.GetUtcNow()) };
        early.Clock.Advance(TimeSpan.FromMilliseconds(19_999));
        Assert.True(Single<ClaimAndSend>(early.On(new FamilyEvent.RefreshTurn(early.State.Generation))).Replay);

        var late = Expiring(Rules);
        late.State = late.State with { Intent = new RefreshIntent(Guid.NewGuid(), 2, late.Clock.GetUtcNow()) };
        late.Clock.Advance(TimeSpan.FromMilliseconds(20_000));
        var decision = late.On(new FamilyEvent.RefreshTurn(late.State.Generation));

        Nothing<ClaimAndSend>(decision);
        Assert.Equal(FamilyStatusReason.ReplayOutsideLeeway, decision.State.StatusReason);
    }

    [Theory]
    [InlineData(30, 10)]
    [InlineData(20, 10)]
    [InlineData(60, 15)]
    public void The_lease_ends_early_enough_for_a_survivor_to_replay_inside_the_leeway(int leewaySeconds, int timeoutSeconds)
    {
        var rules = FamilyRules.For(new TokenFamilyOptions(), new ProviderOptions
        {
            RefreshTokenReuseLeeway = TimeSpan.FromSeconds(leewaySeconds),
            TokenRequestTimeout = TimeSpan.FromSeconds(timeoutSeconds),
        }, 0) with { RefreshAhead = false };
        var family = Expiring(rules);
        family.State = family.State with { Intent = new RefreshIntent(Guid.NewGuid(), 2, family.Clock.GetUtcNow()) };
        family.Clock.Advance(rules.RefreshLease);

        Assert.True(Single<ClaimAndSend>(family.On(new FamilyEvent.RefreshTurn(family.State.Generation))).Replay);
    }
}
