using Broker.Abstractions;
using Broker.Abstractions.Tokens;
using Broker.Grains.Families;
using Broker.Grains.Storage;
using Broker.OAuth.Tokens;
using static Broker.Grains.Families.FamilyEffect;
using static Broker.Grains.Tests.Families.Decisions.FamilyScenario;

namespace Broker.Grains.Tests.Families.Decisions;

/// <summary>The fenced refresh: taking the turn, and every way the token endpoint can answer.</summary>
public sealed class RefreshDecisionsTests
{
    internal static FamilyScenario Expiring(FamilyRules? rules = null)
    {
        var family = new FamilyScenario { Rules = rules ?? new() }.Active(TimeSpan.FromMinutes(10));
        family.Clock.Advance(TimeSpan.FromMinutes(9));
        return family;
    }

    internal static FamilyDecision Claimed(FamilyScenario family)
    {
        var decision = family.On(new FamilyEvent.RefreshTurn(family.State.Generation));
        Single<ClaimAndSend>(decision);
        return decision;
    }

    [Fact]
    public void The_turn_claims_an_intent_for_the_next_generation_before_anything_is_sent()
    {
        var family = Expiring();
        var decision = family.On(new FamilyEvent.RefreshTurn(family.State.Generation));

        Assert.False(Single<ClaimAndSend>(decision).Replay);
        Assert.Equal(new RefreshIntent(family.Activation, 2, family.Clock.GetUtcNow()), decision.State.Intent);
        Assert.Equal(1, decision.State.Generation);
    }

    [Fact]
    public void A_turn_after_another_activation_refreshed_claims_nothing_and_serves_its_token()
    {
        var family = Expiring();
        var decision = family.On(new FamilyEvent.RefreshTurn(GenerationAtStart: 0));
        Assert.Empty(decision.Effects);
        Assert.Null(decision.State.Intent);
    }

    [Theory]
    [InlineData(FamilyStatus.ReauthorizationRequired, true)]
    [InlineData(FamilyStatus.Revoked, true)]
    [InlineData(FamilyStatus.Active, false)]
    public void A_family_that_cannot_be_refreshed_claims_nothing(FamilyStatus status, bool withRefreshToken)
    {
        var family = new FamilyScenario().Active(TimeSpan.FromMinutes(1), withRefreshToken);
        family.State = family.State with { Status = status };
        family.Clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Empty(family.On(new FamilyEvent.RefreshTurn(family.State.Generation)).Effects);
    }

    [Fact]
    public void A_fresh_intent_of_another_activation_is_waited_on_not_raced()
    {
        var family = Expiring(new() { RefreshLease = TimeSpan.FromSeconds(30), IntentPollInterval = TimeSpan.FromMilliseconds(100) });
        family.State = family.State with { Intent = new RefreshIntent(Guid.NewGuid(), 2, family.Clock.GetUtcNow()) };
        family.Clock.Advance(TimeSpan.FromSeconds(30) - TimeSpan.FromMilliseconds(1));

        var decision = family.On(new FamilyEvent.RefreshTurn(family.State.Generation));

        Assert.Equal(TimeSpan.FromMilliseconds(100), Single<WaitForOtherActivation>(decision).Delay);
        Nothing<ClaimAndSend>(decision);
    }

    [Fact]
    public void An_intent_whose_lease_expired_without_leeway_means_the_outcome_is_unknown()
    {
        var family = Expiring(new() { RefreshLease = TimeSpan.FromSeconds(30), ReuseLeeway = TimeSpan.Zero });
        family.State = family.State with { Intent = new RefreshIntent(Guid.NewGuid(), 2, family.Clock.GetUtcNow()) };
        family.Clock.Advance(TimeSpan.FromSeconds(30));

        var decision = family.On(new FamilyEvent.RefreshTurn(family.State.Generation));

        Assert.Equal(FamilyStatus.ReauthorizationRequired, decision.State.Status);
        Assert.Equal(FamilyStatusReason.RefreshOutcomeUnknown, decision.State.StatusReason);
        Assert.Null(decision.State.Intent);
        Assert.Equal(WriteMode.Fenced, Single<Persist>(decision).Mode);
        Assert.Equal(BrokerErrorReason.RefreshOutcomeUnknown, Single<Fail>(decision).Error.Reason);
        var effects = decision.Effects.ToList();
        Assert.True(effects.FindIndex(e => e is Persist) < effects.FindIndex(e => e is Fail), "stored before the caller hears of it");
        Nothing<ClaimAndSend>(decision);
    }

    [Fact]
    public void An_expired_intent_inside_the_providers_leeway_is_replayed_from_its_original_start()
    {
        var family = Expiring(new() { RefreshLease = TimeSpan.FromSeconds(30), ReuseLeeway = TimeSpan.FromSeconds(60) });
        var started = family.Clock.GetUtcNow();
        family.State = family.State with { Intent = new RefreshIntent(Guid.NewGuid(), 2, started) };
        family.Clock.Advance(TimeSpan.FromSeconds(49)); // the replay can still arrive inside the leeway: 49 s + 10 s < 60 s

        var decision = family.On(new FamilyEvent.RefreshTurn(family.State.Generation));

        Assert.True(Single<ClaimAndSend>(decision).Replay);
        Assert.Equal(new RefreshIntent(family.Activation, 2, started), decision.State.Intent);
    }

    [Fact]
    public void Under_the_default_lease_a_survivor_replays_a_dead_activations_refresh_inside_a_30_s_leeway()
    {
        // Seen in the soak (docs/reliability.md): the default lease (30 s) equalled OpenIddict's default leeway (30 s), so a
        // survivor that waited out the lease of a killed silo's refresh always found the leeway gone too.
        var rules = FamilyRules.For(new TokenFamilyOptions(), new Broker.OAuth.Providers.ProviderOptions { RefreshTokenReuseLeeway = TimeSpan.FromSeconds(30) }, 0);
        var family = Expiring(rules with { RefreshAhead = false });
        family.State = family.State with { Intent = new RefreshIntent(Guid.NewGuid(), 2, family.Clock.GetUtcNow()) };
        family.Clock.Advance(rules.RefreshLease);

        var decision = family.On(new FamilyEvent.RefreshTurn(family.State.Generation));

        Assert.True(Single<ClaimAndSend>(decision).Replay);
    }

    [Fact]
    public void This_activations_own_intent_is_not_waited_on()
    {
        var family = Expiring();
        family.State = family.State with { Intent = new RefreshIntent(family.Activation, 2, family.Clock.GetUtcNow()) };
        Assert.False(Single<ClaimAndSend>(family.On(new FamilyEvent.RefreshTurn(family.State.Generation))).Replay);
    }

    [Fact]
    public void Issued_tokens_rotate_supersede_the_spent_token_and_must_be_stored_durably()
    {
        var family = Expiring();
        Claimed(family);
        var next = family.Tokens(TimeSpan.FromMinutes(10));

        var decision = family.On(new FamilyEvent.Refreshed(next, "spent"));

        var state = decision.State;
        Assert.Equal((2L, 1L, RefreshOutcome.Issued), (state.Generation, state.RefreshCount, state.LastRefreshOutcome));
        Assert.Same(next.AccessToken, state.AccessToken);
        Assert.Same(next.RefreshToken, state.RefreshToken);
        Assert.Equal(["spent"], state.SupersededRefreshTokens);
        Assert.Null(state.Intent);
        Assert.Equal(family.Clock.GetUtcNow(), state.LastRefreshAt);
        Assert.Equal(family.Clock.GetUtcNow(), state.RefreshTokenReceivedAt);
        Assert.Equal(WriteMode.Durable, Single<Persist>(decision).Mode);
        Nothing<Fail>(decision);
    }

    [Fact]
    public void A_refresh_answer_without_a_refresh_token_keeps_the_old_one_and_supersedes_nothing()
    {
        var family = Expiring();
        var held = family.State.RefreshToken;
        Claimed(family);

        var state = family.On(new FamilyEvent.Refreshed(family.Tokens(TimeSpan.FromMinutes(10), withRefreshToken: false), "spent")).State;

        Assert.Same(held, state.RefreshToken);
        Assert.Empty(state.SupersededRefreshTokens);
        Assert.Equal(FamilyScenario.Start, state.RefreshTokenReceivedAt);
    }

    [Fact]
    public void The_superseded_history_keeps_only_the_newest_fingerprints()
    {
        var family = Expiring(new() { SupersededTokenHistory = 2 });
        foreach (var spent in new[] { "a", "b", "c" })
        {
            Claimed(family);
            family.On(new FamilyEvent.Refreshed(family.Tokens(TimeSpan.FromMinutes(10), spent), spent));
        }
        Assert.Equal(["b", "c"], family.State.SupersededRefreshTokens);
    }

    public static TheoryData<TokenEndpointOutcome, RefreshOutcome, BrokerErrorReason> Refusals => new()
    {
        { new TokenEndpointOutcome.Rejected("invalid_client", 401), RefreshOutcome.Rejected, BrokerErrorReason.ProviderRejected },
        { new TokenEndpointOutcome.Throttled(TimeSpan.FromSeconds(7), 429), RefreshOutcome.Throttled, BrokerErrorReason.Throttled },
        { new TokenEndpointOutcome.NotSent("refused"), RefreshOutcome.NotSent, BrokerErrorReason.ProviderUnavailable },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void An_answer_that_changed_nothing_upstream_clears_the_intent_and_keeps_the_family_active(
        TokenEndpointOutcome outcome, RefreshOutcome recorded, BrokerErrorReason reason)
    {
        var family = Expiring();
        var before = family.State;
        Claimed(family);

        var decision = family.On(new FamilyEvent.RefreshFailed(outcome, Replayed: false));

        Assert.Equal(before with { LastRefreshOutcome = recorded }, decision.State);
        Assert.Equal(WriteMode.Fenced, Single<Persist>(decision).Mode);
        var error = Single<Fail>(decision).Error;
        Assert.Equal(reason, error.Reason);
        if (outcome is TokenEndpointOutcome.Throttled throttled) Assert.Equal(throttled.RetryAfter, error.RetryAfter);
    }

    [Fact]
    public void A_lost_answer_inside_the_leeway_is_sent_once_more_and_only_once()
    {
        var family = Expiring(new() { ReuseLeeway = TimeSpan.FromSeconds(30) });
        Claimed(family);
        family.Clock.Advance(TimeSpan.FromSeconds(19)); // the replay must still arrive inside the leeway: 19 s + 10 s < 30 s
        var lost = new TokenEndpointOutcome.OutcomeUnknown("timeout");

        var first = family.On(new FamilyEvent.RefreshFailed(lost, Replayed: false));
        Single<Resend>(first);
        Nothing<Persist>(first);

        var second = family.On(new FamilyEvent.RefreshFailed(lost, Replayed: true));
        Nothing<Resend>(second);
        Assert.Equal(FamilyStatusReason.RefreshOutcomeUnknown, second.State.StatusReason);
    }

    [Fact]
    public void A_lost_answer_without_leeway_requires_reauthorization_but_keeps_the_valid_access_token()
    {
        var family = Expiring();
        var token = family.State.AccessToken;
        Claimed(family);

        var decision = family.On(new FamilyEvent.RefreshFailed(new TokenEndpointOutcome.OutcomeUnknown("reset"), Replayed: false));

        Assert.Equal(FamilyStatusReason.RefreshOutcomeUnknown, decision.State.StatusReason);
        Assert.Same(token, decision.State.AccessToken);
        Assert.Equal(BrokerErrorReason.RefreshOutcomeUnknown, Single<Fail>(decision).Error.Reason);
        Assert.Equal(TokenSource.Cache, Single<Serve>(family.On(new FamilyEvent.RefreshSettled(family.State.Generation))).Source);
    }
}
