using Broker.Abstractions.Events;
using Broker.Abstractions.Tokens;
using Broker.Grains.Families;
using Broker.OAuth.Tokens;
using static Broker.Grains.Families.FamilyEffect;
using static Broker.Grains.Tests.Families.Decisions.FamilyScenario;

namespace Broker.Grains.Tests.Families.Decisions;

/// <summary>Which change of a family is which event (<see cref="FamilyNotifications"/>), and flapping control on the fake clock.</summary>
public sealed class FamilyNotificationsTests
{
    private static readonly FamilyEvent InvalidGrant = new FamilyEvent.RefreshFailed(new TokenEndpointOutcome.Rejected("invalid_grant", 400), Replayed: false);

    private static FamilyEvent.Authorized AuthorizedBy(FamilyScenario family, string owner) =>
        new(family.Tokens(TimeSpan.FromHours(1)), "old", AccountChange.Unknown, null, ReplaceAccount: false, OfferedIsHeld: false, Owner: owner);

    private static IReadOnlyList<FamilyNotice> Notices(FamilyDecision decision) =>
        decision.Effects.OfType<Notify>().SelectMany(n => n.Notices).ToList();

    [Fact]
    public void A_new_authorization_emits_family_authorized_after_its_write_and_records_the_owner()
    {
        var family = new FamilyScenario();

        var decision = family.On(AuthorizedBy(family, "billing"));

        Assert.Equal("billing", decision.State.Owner);
        var notify = Single<Notify>(decision);
        Assert.Equal(BrokerEventType.FamilyAuthorized, Assert.Single(notify.Notices).Type);
        var effects = decision.Effects.ToList();
        Assert.True(effects.IndexOf(notify) > effects.FindIndex(e => e is Persist), "the event follows the write that makes it true");
    }

    [Fact]
    public void A_refused_refresh_emits_reauthorization_required_with_its_reason_before_the_caller_is_failed()
    {
        var family = new FamilyScenario().Active(TimeSpan.FromMinutes(10));

        var decision = family.On(InvalidGrant);

        var notice = Assert.Single(Notices(decision));
        Assert.Equal((BrokerEventType.FamilyReauthorizationRequired, FamilyStatusReason.InvalidGrantPossibleTheft), (notice.Type, notice.Reason));
        Assert.IsType<Fail>(decision.Effects[^1]);
    }

    [Fact]
    public void Re_consent_keeps_the_owner_and_emits_family_recovered()
    {
        var family = new FamilyScenario();
        family.On(AuthorizedBy(family, "billing"));
        family.On(InvalidGrant);

        var decision = family.On(AuthorizedBy(family, "support"));

        Assert.Equal("billing", decision.State.Owner);
        Assert.Equal(FamilyStatus.Active, decision.State.Status);
        Assert.Equal(BrokerEventType.FamilyRecovered, Assert.Single(Notices(decision)).Type);
    }

    [Fact]
    public void A_family_authorized_again_after_revocation_belongs_to_its_new_owner()
    {
        var family = new FamilyScenario();
        family.On(AuthorizedBy(family, "billing"));
        var revoked = family.On(new FamilyEvent.RevokeRequested("held"));

        var decision = family.On(AuthorizedBy(family, "support"));

        Assert.Equal(BrokerEventType.FamilyRevoked, Assert.Single(Notices(revoked)).Type);
        Assert.Equal("support", decision.State.Owner);
        Assert.Equal(BrokerEventType.FamilyAuthorized, Assert.Single(Notices(decision)).Type);
    }

    [Fact]
    public void Reuse_and_unreadable_state_have_their_own_events()
    {
        var reused = new FamilyScenario().Active(TimeSpan.FromHours(1));
        var reuse = reused.On(new FamilyEvent.Imported(reused.Tokens(TimeSpan.FromHours(1)), "held", PresentedWasSuperseded: true, PresentedIsHeld: false));
        Assert.Equal(BrokerEventType.FamilyReuseDetected, Assert.Single(Notices(reuse)).Type);

        var altered = new FamilyScenario().Active(TimeSpan.FromHours(1));
        var unreadable = altered.On(new FamilyEvent.Marked(FamilyStatusReason.StateUnreadable));
        Assert.Equal(BrokerEventType.FamilyStateUnreadable, Assert.Single(Notices(unreadable)).Type);
    }

    [Fact]
    public void What_changes_nothing_emits_nothing_and_refreshes_are_emitted_only_when_asked_for()
    {
        var family = new FamilyScenario().Active(TimeSpan.FromHours(1));
        Assert.Empty(Notices(family.On(new FamilyEvent.Asked(TimeSpan.FromMinutes(5), false))));
        Assert.Empty(Notices(family.On(new FamilyEvent.Refreshed(family.Tokens(TimeSpan.FromHours(1)), "spent"))));

        family.Rules = family.Rules with { NoticeRefreshes = true };
        var refreshed = family.On(new FamilyEvent.Refreshed(family.Tokens(TimeSpan.FromHours(1), "third"), "next-refresh"));
        Assert.Equal(BrokerEventType.FamilyRefreshed, Assert.Single(Notices(refreshed)).Type);
    }

    [Fact]
    public void Ten_failures_and_recoveries_inside_the_window_emit_one_of_each_and_the_next_event_counts_the_rest()
    {
        var family = new FamilyScenario { Rules = new FamilyRules { RefreshAhead = false, NoticeWindow = TimeSpan.FromMinutes(15) } };
        family.On(AuthorizedBy(family, "billing"));
        var emitted = new List<FamilyNotice>();
        for (var i = 0; i < 10; i++)
        {
            family.Clock.Advance(TimeSpan.FromSeconds(30));
            emitted.AddRange(Notices(family.On(InvalidGrant)));
            family.Clock.Advance(TimeSpan.FromSeconds(30));
            emitted.AddRange(Notices(family.On(AuthorizedBy(family, "billing"))));
        }

        Assert.Equal([BrokerEventType.FamilyReauthorizationRequired, BrokerEventType.FamilyRecovered], emitted.Select(n => n.Type));
        Assert.All(emitted, n => Assert.Equal(0, n.Suppressed));

        // Past the window the next failure is emitted again, with the 18 transitions left out.
        family.Clock.Advance(TimeSpan.FromMinutes(15));
        var next = Assert.Single(Notices(family.On(InvalidGrant)));
        Assert.Equal((BrokerEventType.FamilyReauthorizationRequired, 18), (next.Type, next.Suppressed));
    }

    [Fact]
    public void Without_a_window_every_transition_is_emitted()
    {
        var family = new FamilyScenario { Rules = new FamilyRules { RefreshAhead = false, NoticeWindow = TimeSpan.Zero } };
        family.On(AuthorizedBy(family, "billing"));
        var emitted = new List<FamilyNotice>();
        for (var i = 0; i < 3; i++)
        {
            emitted.AddRange(Notices(family.On(InvalidGrant)));
            emitted.AddRange(Notices(family.On(AuthorizedBy(family, "billing"))));
        }
        Assert.Equal(6, emitted.Count);
    }
}
