using Broker.Abstractions;
using Broker.Abstractions.Tokens;
using Broker.Grains.Families;
using Broker.Grains.Storage;
using static Broker.Grains.Families.FamilyEffect;
using static Broker.Grains.Tests.Families.Decisions.FamilyScenario;

namespace Broker.Grains.Tests.Families.Decisions;

/// <summary>A new authorization replaces the family's grant: which account may, and what happens to the grant replaced.</summary>
public sealed class AccountPinningDecisionsTests
{
    private static FamilyEvent.Authorized Authorized(SealedTokens tokens, AccountChange account, bool replaceAccount = false, bool offeredIsHeld = false) =>
        new(tokens, ReplacedFingerprint: "old", account, AccountFingerprint: "new-account", replaceAccount, offeredIsHeld);

    [Fact]
    public void An_authorization_by_another_account_is_refused_its_grant_revoked_and_the_family_untouched()
    {
        var family = new FamilyScenario().Active(TimeSpan.FromHours(1));
        family.State = family.State with { AccountFingerprint = "first-account" };
        var before = family.State;

        var decision = family.On(Authorized(family.Tokens(TimeSpan.FromHours(1)), AccountChange.Different));

        Assert.Same(before, decision.State);
        Assert.Equal(RevokedGrant.Offered, Single<RevokeUpstream>(decision).Grant);
        Nothing<Persist>(decision);
        Assert.Equal(BrokerErrorReason.AccountMismatch, Assert.IsType<Fail>(decision.Effects[^1]).Error.Reason);
    }

    [Fact]
    public void Another_account_takes_the_family_when_the_caller_asked_and_the_replaced_grant_is_revoked_after_the_write()
    {
        var family = new FamilyScenario().Active(TimeSpan.FromHours(1));
        family.Rules = family.Rules with { RevokeReplacedGrant = false }; // another account's grant is revoked regardless
        var tokens = family.Tokens(TimeSpan.FromHours(1));

        var decision = family.On(Authorized(tokens, AccountChange.Different, replaceAccount: true));

        Assert.Same(tokens.RefreshToken, decision.State.RefreshToken);
        Assert.Equal("new-account", decision.State.AccountFingerprint);
        Assert.IsType<Persist>(decision.Effects[0]);
        Assert.Equal(RevokedGrant.Replaced, Assert.IsType<RevokeUpstream>(decision.Effects[1]).Grant);
    }

    [Theory]
    [InlineData(AccountChange.Same)]
    [InlineData(AccountChange.Unknown)]
    public void The_same_or_an_unknown_account_replaces_the_grant_and_revokes_the_old_one(AccountChange account)
    {
        var family = new FamilyScenario().Active(TimeSpan.FromHours(1));

        var decision = family.On(Authorized(family.Tokens(TimeSpan.FromHours(1)), account));

        Assert.Equal(FamilyStatus.Active, decision.State.Status);
        Assert.Equal(RevokedGrant.Replaced, Single<RevokeUpstream>(decision).Grant);
        Assert.True(decision.Effects.ToList().IndexOf(Single<Persist>(decision)) < decision.Effects.ToList().IndexOf(Single<RevokeUpstream>(decision)));
    }

    [Fact]
    public void A_provider_whose_grants_are_one_keeps_the_replaced_grant_of_the_same_account()
    {
        var family = new FamilyScenario().Active(TimeSpan.FromHours(1));
        family.Rules = family.Rules with { RevokeReplacedGrant = false };

        var decision = family.On(Authorized(family.Tokens(TimeSpan.FromHours(1)), AccountChange.Same));

        Nothing<RevokeUpstream>(decision);
        Assert.Equal(WriteMode.Fenced, Single<Persist>(decision).Mode);
    }

    [Fact]
    public void The_refresh_token_already_held_is_not_revoked_when_offered_again()
    {
        var family = new FamilyScenario().Active(TimeSpan.FromHours(1));

        var decision = family.On(Authorized(family.Tokens(TimeSpan.FromHours(1)), AccountChange.Same, offeredIsHeld: true));

        Nothing<RevokeUpstream>(decision);
    }

    [Fact]
    public void A_family_without_a_grant_revokes_nothing_and_a_revoked_one_takes_any_account()
    {
        var empty = new FamilyScenario();
        Nothing<RevokeUpstream>(empty.On(Authorized(empty.Tokens(TimeSpan.FromHours(1)), AccountChange.Unknown)));

        var revoked = new FamilyScenario().Active(TimeSpan.FromHours(1));
        revoked.State = revoked.State with { Status = FamilyStatus.Revoked, AccessToken = null, RefreshToken = null, AccountFingerprint = "first-account" };
        var decision = revoked.On(Authorized(revoked.Tokens(TimeSpan.FromHours(1)), AccountChange.Different));

        Assert.Equal(FamilyStatus.Active, decision.State.Status);
        Nothing<RevokeUpstream>(decision);
    }
}
