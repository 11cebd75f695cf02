using Broker.Abstractions;
using Broker.Abstractions.Tokens;
using Broker.Grains.Families;
using static Broker.Grains.Families.FamilyEffect;
using static Broker.Grains.Tests.Families.Decisions.FamilyScenario;

namespace Broker.Grains.Tests.Families.Decisions;

/// <summary>A caller asks for a token, and is answered once a refresh settles.</summary>
public sealed class CallerDecisionsTests
{
    private static readonly TimeSpan Buffer = TimeSpan.FromMinutes(5);

    [Fact]
    public void A_token_valid_beyond_the_callers_buffer_is_served_from_cache_with_no_refresh()
    {
        var family = new FamilyScenario().Active(TimeSpan.FromHours(1));
        var before = family.State;
        family.Clock.Advance(TimeSpan.FromMinutes(54));

        var decision = family.On(new FamilyEvent.Asked(Buffer, Force: false));

        Assert.Equal(TokenSource.Cache, Single<Serve>(decision).Source);
        Nothing<Refresh>(decision);
        Nothing<Persist>(decision);
        Assert.Same(before, decision.State);
    }

    [Fact]
    public void A_token_inside_the_callers_buffer_starts_a_refresh()
    {
        var family = new FamilyScenario().Active(TimeSpan.FromHours(1));
        family.Clock.Advance(TimeSpan.FromMinutes(55) + TimeSpan.FromMilliseconds(1));

        var decision = family.On(new FamilyEvent.Asked(Buffer, Force: false));

        Assert.Equal(RefreshCause.Expiring, Single<Refresh>(decision).Cause);
        Nothing<Serve>(decision);
    }

    [Fact]
    public void A_short_lived_token_is_kept_for_half_its_lifetime_not_refreshed_on_every_call()
    {
        var family = new FamilyScenario().Active(TimeSpan.FromMinutes(2));
        family.Clock.Advance(TimeSpan.FromSeconds(59));
        Single<Serve>(family.On(new FamilyEvent.Asked(Buffer, Force: false)));

        family.Clock.Advance(TimeSpan.FromSeconds(1));
        Single<Refresh>(family.On(new FamilyEvent.Asked(Buffer, Force: false)));
    }

    [Fact]
    public void A_forced_refresh_refreshes_a_fresh_token()
    {
        var family = new FamilyScenario().Active(TimeSpan.FromHours(1));
        var decision = family.On(new FamilyEvent.Asked(Buffer, Force: true));
        Assert.Equal(RefreshCause.Forced, Single<Refresh>(decision).Cause);
    }

    [Fact]
    public void A_forced_refresh_right_after_a_refresh_serves_that_refresh_token_instead()
    {
        var family = new FamilyScenario { Rules = new() { MinForcedRefreshInterval = TimeSpan.FromSeconds(30) } }.Active(TimeSpan.FromHours(1));
        family.State = family.State with { LastRefreshAt = family.Clock.GetUtcNow() };
        family.Clock.Advance(TimeSpan.FromSeconds(29));
        Single<Serve>(family.On(new FamilyEvent.Asked(Buffer, Force: true)));

        family.Clock.Advance(TimeSpan.FromSeconds(1));
        Single<Refresh>(family.On(new FamilyEvent.Asked(Buffer, Force: true)));
    }

    [Fact]
    public void Near_the_refresh_ahead_point_the_token_is_served_and_a_background_refresh_starts()
    {
        var family = new FamilyScenario { Rules = new() { RefreshAhead = true, ExpiryBuffer = TimeSpan.FromMinutes(4), RefreshAheadSpread = 0.1 } }
            .Active(TimeSpan.FromMinutes(10));
        // Refresh-ahead point: buffer (4 min, under half of 10) + 10% of the lifetime (1 min) before expiry.
        family.Clock.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromMilliseconds(1));
        var early = family.On(new FamilyEvent.Asked(TimeSpan.FromMinutes(1), Force: false));
        Single<Serve>(early);
        Nothing<RefreshInBackground>(early);

        family.Clock.Advance(TimeSpan.FromMilliseconds(1));
        var due = family.On(new FamilyEvent.Asked(TimeSpan.FromMinutes(1), Force: false));
        Single<Serve>(due);
        Assert.Equal(RefreshCause.Ahead, Single<RefreshInBackground>(due).Cause);
    }

    [Theory]
    [InlineData(FamilyStatus.ReauthorizationRequired)]
    [InlineData(FamilyStatus.Revoked)]
    public void Refresh_ahead_never_starts_for_a_family_that_is_not_active(FamilyStatus status)
    {
        var family = new FamilyScenario { Rules = new() { RefreshAhead = true, ExpiryBuffer = TimeSpan.FromMinutes(4) } }.Active(TimeSpan.FromMinutes(10));
        family.State = family.State with { Status = status };
        family.Clock.Advance(TimeSpan.FromMinutes(7));
        Nothing<RefreshInBackground>(family.On(new FamilyEvent.Asked(TimeSpan.FromMinutes(1), Force: false)));
    }

    [Fact]
    public void A_family_an_operator_marked_stops_serving_its_still_valid_token()
    {
        var family = new FamilyScenario().Active(TimeSpan.FromHours(1));
        family.State = family.State with { Status = FamilyStatus.ReauthorizationRequired, StatusReason = FamilyStatusReason.MarkedByOperator };

        Single<Refresh>(family.On(new FamilyEvent.Asked(Buffer, Force: false)));
        var settled = family.On(new FamilyEvent.RefreshSettled(family.State.Generation));

        var error = Single<Fail>(settled).Error;
        Assert.Equal(BrokerErrorReason.ReauthorizationRequired, error.Reason);
        Assert.Equal("marked_by_operator", error.Detail);
    }

    [Fact]
    public void A_family_whose_refresh_failed_keeps_serving_its_valid_token_after_the_refresh_settles()
    {
        var family = new FamilyScenario().Active(TimeSpan.FromMinutes(3));
        family.State = family.State with { Status = FamilyStatus.ReauthorizationRequired, StatusReason = FamilyStatusReason.RefreshOutcomeUnknown };

        var settled = family.On(new FamilyEvent.RefreshSettled(family.State.Generation));

        Assert.Equal(TokenSource.Cache, Single<Serve>(settled).Source);
    }

    [Fact]
    public void A_settled_refresh_that_changed_the_generation_is_served_as_refreshed()
    {
        var family = new FamilyScenario().Active(TimeSpan.FromHours(1));
        var settled = family.On(new FamilyEvent.RefreshSettled(family.State.Generation - 1));
        Assert.Equal(TokenSource.Refresh, Single<Serve>(settled).Source);
    }

    [Theory]
    [InlineData(FamilyStatus.None, FamilyStatusReason.None, BrokerErrorReason.AuthorizationRequired, null)]
    [InlineData(FamilyStatus.Revoked, FamilyStatusReason.TokenReuseDetected, BrokerErrorReason.ReauthorizationRequired, "token_reuse_detected")]
    [InlineData(FamilyStatus.ReauthorizationRequired, FamilyStatusReason.RefreshOutcomeUnknown, BrokerErrorReason.RefreshOutcomeUnknown, "refresh_outcome_unknown")]
    [InlineData(FamilyStatus.ReauthorizationRequired, FamilyStatusReason.InvalidGrantPossibleTheft, BrokerErrorReason.ReauthorizationRequired, "invalid_grant_possible_theft")]
    [InlineData(FamilyStatus.ReauthorizationRequired, FamilyStatusReason.StateUnreadable, BrokerErrorReason.StateUnreadable, "state_unreadable")]
    [InlineData(FamilyStatus.Active, FamilyStatusReason.None, BrokerErrorReason.ReauthorizationRequired, "no_refresh_token")]
    public void An_expired_family_that_cannot_refresh_fails_with_a_reason_the_caller_can_act_on(
        FamilyStatus status, FamilyStatusReason reason, BrokerErrorReason expected, string? detail)
    {
        var family = new FamilyScenario().Active(TimeSpan.FromMinutes(1), withRefreshToken: false);
        family.State = family.State with { Status = status, StatusReason = reason };
        family.Clock.Advance(TimeSpan.FromMinutes(2));

        var error = Single<Fail>(family.On(new FamilyEvent.RefreshSettled(family.State.Generation))).Error;

        Assert.Equal(expected, error.Reason);
        Assert.Equal(detail, error.Detail);
    }

    [Fact]
    public void A_forced_refresh_without_a_refresh_token_fails_saying_why_and_the_family_reads_so()
    {
        var family = new FamilyScenario().Active(TimeSpan.FromMinutes(1), withRefreshToken: false);

        var error = Single<Fail>(family.On(new FamilyEvent.Asked(TimeSpan.Zero, Force: true))).Error;

        Assert.Equal(BrokerErrorReason.ReauthorizationRequired, error.Reason);
        Assert.Equal("no_refresh_token", error.Detail);
        Assert.Equal((FamilyStatus.Active, FamilyStatusReason.NoRefreshToken), TokenFamilyDecisions.Standing(family.State, family.Clock.GetUtcNow()));
        family.Clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal((FamilyStatus.ReauthorizationRequired, FamilyStatusReason.NoRefreshToken), TokenFamilyDecisions.Standing(family.State, family.Clock.GetUtcNow()));
    }
}
