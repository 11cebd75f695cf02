using Broker.Abstractions;
using Broker.Abstractions.Tokens;
using Broker.Grains.Families;
using Broker.Grains.Storage;
using static Broker.Grains.Families.FamilyEffect;
using static Broker.Grains.Tests.Families.Decisions.FamilyScenario;

namespace Broker.Grains.Tests.Families.Decisions;

/// <summary>Authorizations, imports, revocations, marks and the keep-alive.</summary>
public sealed class LifecycleDecisionsTests
{
    /// <summary>An authorization by an account that cannot be compared (no ID token on one side).</summary>
    internal static FamilyEvent.Authorized Authorized(SealedTokens tokens, string? replaced = null) =>
        new(tokens, replaced, AccountChange.Unknown, AccountFingerprint: null, ReplaceAccount: false, OfferedIsHeld: false);

    [Fact]
    public void An_authorization_activates_the_family_supersedes_the_replaced_token_and_schedules_keep_alive()
    {
        var family = new FamilyScenario().Active(TimeSpan.FromMinutes(10));
        family.State = family.State with { Status = FamilyStatus.ReauthorizationRequired, StatusReason = FamilyStatusReason.InvalidGrantPossibleTheft };
        var tokens = family.Tokens(TimeSpan.FromHours(1));

        var decision = family.On(Authorized(tokens, replaced: "old"));

        Assert.Equal((FamilyStatus.Active, FamilyStatusReason.None), (decision.State.Status, decision.State.StatusReason));
        Assert.Same(tokens.RefreshToken, decision.State.RefreshToken);
        Assert.Equal(["old"], decision.State.SupersededRefreshTokens);
        Assert.Equal(2, decision.State.Generation);
        Assert.Equal(WriteMode.Fenced, Single<Persist>(decision).Mode);
        Single<ScheduleKeepAlive>(decision);
    }

    [Fact]
    public void An_authorization_claimed_late_counts_its_token_lifetime_from_the_answer_not_the_claim()
    {
        // The tokens waited 2 s for the user's claim (AuthorizationCompletionGrain) after the token endpoint answered.
        var family = new FamilyScenario();
        var answered = family.Clock.GetUtcNow();
        var tokens = family.Tokens(TimeSpan.FromSeconds(8));
        family.Clock.Advance(TimeSpan.FromSeconds(2));

        family.On(Authorized(tokens));
        // 3.5 s left: short of the caller's 4 s buffer, which half the real 8 s lifetime does not cap.
        family.Clock.Advance(TimeSpan.FromSeconds(2.5));
        var decision = family.On(new FamilyEvent.Asked(TimeSpan.FromSeconds(4), false));

        Assert.Equal(answered, family.State.AccessTokenIssuedAt);
        Assert.Equal(answered, family.State.RefreshTokenReceivedAt);
        Single<Refresh>(decision);
    }

    [Fact]
    public void A_revoked_family_becomes_active_again_with_a_new_authorization()
    {
        var family = new FamilyScenario();
        family.On(Authorized(family.Tokens(TimeSpan.FromHours(1))));
        family.On(new FamilyEvent.RevokeRequested("first"));

        var decision = family.On(Authorized(family.Tokens(TimeSpan.FromHours(1), "second")));

        Assert.Equal(FamilyStatus.Active, decision.State.Status);
        Assert.Equal(TokenSource.Cache, Single<Serve>(family.On(new FamilyEvent.Asked(TimeSpan.FromMinutes(5), false))).Source);
    }

    [Fact]
    public void Importing_a_superseded_refresh_token_revokes_the_family_upstream_and_fails_as_reuse()
    {
        var family = new FamilyScenario().Active(TimeSpan.FromHours(1));

        var decision = family.On(new FamilyEvent.Imported(family.Tokens(TimeSpan.FromHours(1)), "held", PresentedWasSuperseded: true, PresentedIsHeld: false));

        Assert.Equal((FamilyStatus.Revoked, FamilyStatusReason.TokenReuseDetected), (decision.State.Status, decision.State.StatusReason));
        Assert.Null(decision.State.RefreshToken);
        Assert.Contains("held", decision.State.SupersededRefreshTokens);
        Assert.IsType<Report>(decision.Effects[0]);
        Assert.IsType<RevokeUpstream>(decision.Effects[1]); // while the tokens are still in hand
        Assert.Equal(BrokerErrorReason.TokenReuseDetected, Assert.IsType<Fail>(decision.Effects[^1]).Error.Reason);
        Single<CancelKeepAlive>(decision);
    }

    [Fact]
    public void Importing_the_refresh_token_already_held_changes_nothing()
    {
        var family = new FamilyScenario().Active(TimeSpan.FromHours(1));
        var before = family.State;
        var decision = family.On(new FamilyEvent.Imported(family.Tokens(TimeSpan.FromHours(1)), "held", PresentedWasSuperseded: false, PresentedIsHeld: true));
        Assert.Same(before, decision.State);
        Assert.Empty(decision.Effects);
    }

    [Fact]
    public void Importing_new_tokens_adopts_them()
    {
        var family = new FamilyScenario();
        var tokens = family.Tokens(TimeSpan.FromHours(1));
        var decision = family.On(new FamilyEvent.Imported(tokens, null, PresentedWasSuperseded: false, PresentedIsHeld: false));
        Assert.Equal(FamilyStatus.Active, decision.State.Status);
        Assert.Same(tokens.AccessToken, decision.State.AccessToken);
        Assert.Single(decision.Effects, e => e is Report { Signal: FamilySignal.Imported });
    }

    [Fact]
    public void Revocation_revokes_upstream_first_then_forgets_every_token_and_remembers_the_fingerprint()
    {
        var family = new FamilyScenario().Active(TimeSpan.FromHours(1));
        var decision = family.On(new FamilyEvent.RevokeRequested("held"));

        Assert.IsType<RevokeUpstream>(decision.Effects[1]);
        Assert.IsType<Persist>(decision.Effects[2]);
        Assert.Equal((FamilyStatus.Revoked, FamilyStatusReason.Revoked), (decision.State.Status, decision.State.StatusReason));
        Assert.Null(decision.State.AccessToken);
        Assert.Null(decision.State.RefreshToken);
        Assert.Equal(["held"], decision.State.SupersededRefreshTokens);
    }

    [Fact]
    public void Revocation_of_unreadable_or_empty_state_forgets_it_without_calling_the_provider()
    {
        var unreadable = new FamilyScenario().Active(TimeSpan.FromHours(1));
        unreadable.State = unreadable.State with { StatusReason = FamilyStatusReason.StateUnreadable };
        Nothing<RevokeUpstream>(unreadable.On(new FamilyEvent.RevokeRequested(null)));
        Assert.Equal(FamilyStatus.Revoked, unreadable.State.Status);

        Nothing<RevokeUpstream>(new FamilyScenario().On(new FamilyEvent.RevokeRequested(null)));
    }

    [Fact]
    public void An_operators_mark_stops_an_active_family_and_is_made_again_on_what_is_stored()
    {
        var family = new FamilyScenario().Active(TimeSpan.FromHours(1));
        var decision = family.On(new FamilyEvent.Marked(FamilyStatusReason.MarkedByOperator));

        Assert.Equal((FamilyStatus.ReauthorizationRequired, FamilyStatusReason.MarkedByOperator), (decision.State.Status, decision.State.StatusReason));
        Assert.Equal(WriteMode.OnStored, Single<Persist>(decision).Mode);
        Assert.Single(decision.Effects, e => e is Report { Signal: FamilySignal.ReauthorizationRequired { Reason: FamilyStatusReason.MarkedByOperator } });
    }

    [Fact]
    public void Marking_a_family_that_holds_nothing_changes_nothing()
    {
        Assert.Empty(new FamilyScenario().On(new FamilyEvent.Marked(FamilyStatusReason.MarkedByOperator)).Effects);
    }

    [Fact]
    public void Unreadable_state_is_marked_and_reported_once()
    {
        var family = new FamilyScenario().Active(TimeSpan.FromHours(1));
        var first = family.On(new FamilyEvent.Marked(FamilyStatusReason.StateUnreadable));
        Assert.Single(first.Effects, e => e is Report { Signal: FamilySignal.StateUnreadable });
        Assert.Same(family.State.AccessToken, first.State.AccessToken); // the ciphertext is kept for investigation

        Assert.Empty(family.On(new FamilyEvent.Marked(FamilyStatusReason.StateUnreadable)).Effects);
    }

    [Fact]
    public void An_idle_family_is_refreshed_once_the_keep_alive_interval_has_passed()
    {
        var family = new FamilyScenario { Rules = new() { KeepAliveInterval = TimeSpan.FromHours(24) } }.Active(TimeSpan.FromHours(1));
        family.Clock.Advance(TimeSpan.FromHours(24) - TimeSpan.FromMilliseconds(1));
        Assert.Empty(family.On(new FamilyEvent.KeepAliveDue()).Effects);

        family.Clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(RefreshCause.KeepAlive, Single<RefreshInBackground>(family.On(new FamilyEvent.KeepAliveDue())).Cause);
    }

    [Fact]
    public void The_keep_alive_counts_from_the_last_refresh()
    {
        var family = new FamilyScenario { Rules = new() { KeepAliveInterval = TimeSpan.FromHours(24) } }.Active(TimeSpan.FromHours(1));
        family.Clock.Advance(TimeSpan.FromHours(30));
        family.State = family.State with { LastRefreshAt = family.Clock.GetUtcNow() - TimeSpan.FromHours(1) };
        Assert.Empty(family.On(new FamilyEvent.KeepAliveDue()).Effects);
    }

    [Fact]
    public void The_keep_alive_cancels_itself_without_an_interval_or_on_a_family_that_is_not_active()
    {
        var noInterval = new FamilyScenario().Active(TimeSpan.FromHours(1));
        Single<CancelKeepAlive>(noInterval.On(new FamilyEvent.KeepAliveDue()));

        var revoked = new FamilyScenario { Rules = new() { KeepAliveInterval = TimeSpan.FromHours(1) } }.Active(TimeSpan.FromHours(1));
        revoked.On(new FamilyEvent.RevokeRequested(null));
        Single<CancelKeepAlive>(revoked.On(new FamilyEvent.KeepAliveDue()));
    }
}
