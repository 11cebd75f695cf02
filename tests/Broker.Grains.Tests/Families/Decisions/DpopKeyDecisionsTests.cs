using Broker.Abstractions.Tokens;
using Broker.Grains.Families;
using Broker.Grains.Storage;
using Broker.OAuth.Tokens;
using static Broker.Grains.Families.FamilyEffect;
using static Broker.Grains.Tests.Families.Decisions.FamilyScenario;

namespace Broker.Grains.Tests.Families.Decisions;

/// <summary>A family has one DPoP key for its life: made once, written on what is stored, kept by every other event.</summary>
public sealed class DpopKeyDecisionsTests
{
    [Fact]
    public void A_key_is_stored_once_and_a_second_never_replaces_it()
    {
        var family = new FamilyScenario();

        var made = family.On(new FamilyEvent.DpopKeyMade(Secret("key-1"), "jkt-1"));
        Assert.Equal(("key-1", "jkt-1"), (made.State.DpopKey!.KeyId, made.State.DpopThumbprint));
        Assert.Equal(WriteMode.OnStored, Single<Persist>(made).Mode);

        var again = family.On(new FamilyEvent.DpopKeyMade(Secret("key-2"), "jkt-2"));
        Assert.Equal(("key-1", "jkt-1"), (again.State.DpopKey!.KeyId, again.State.DpopThumbprint));
        Assert.Empty(again.Effects);
    }

    [Fact]
    public void Grants_refreshes_marks_and_revocation_keep_the_key_its_tokens_are_bound_to()
    {
        var family = new FamilyScenario().Active(TimeSpan.FromMinutes(10));
        family.On(new FamilyEvent.DpopKeyMade(Secret("key-1"), "jkt-1"));

        FamilyEvent[] events =
        [
            LifecycleDecisionsTests.Authorized(family.Tokens(TimeSpan.FromMinutes(10), "authorized"), replaced: "refresh"),
            new FamilyEvent.Imported(family.Tokens(TimeSpan.FromMinutes(10), "imported"), "authorized", PresentedWasSuperseded: false, PresentedIsHeld: false),
            new FamilyEvent.Refreshed(family.Tokens(TimeSpan.FromMinutes(10), "refreshed"), "imported"),
            new FamilyEvent.RefreshFailed(new TokenEndpointOutcome.Rejected("invalid_grant", 400), Replayed: false),
            new FamilyEvent.Marked(FamilyStatusReason.MarkedByOperator),
            new FamilyEvent.RevokeRequested(null),
        ];
        foreach (var e in events)
        {
            var decision = family.On(e);
            Assert.True(decision.State.DpopKey?.KeyId == "key-1" && decision.State.DpopThumbprint == "jkt-1", $"{e.GetType().Name} dropped the key");
        }
    }

    [Fact]
    public void After_a_lost_write_a_key_stored_by_another_activation_is_kept()
    {
        var stored = TokenFamilyState.Empty with { DpopKey = Secret("theirs"), DpopThumbprint = "jkt-theirs", Generation = 3 };
        var mine = TokenFamilyState.Empty with { Generation = 2 };

        var merged = TokenFamilyState.MergeAfterLostWrite(stored, mine);

        Assert.Equal(("theirs", "jkt-theirs"), (merged.DpopKey!.KeyId, merged.DpopThumbprint));
    }

    [Fact]
    public void A_token_type_of_DPoP_in_any_case_is_bound()
    {
        Assert.True((TokenFamilyState.Empty with { TokenType = "dpop" }).IsDpopBound);
        Assert.True((TokenFamilyState.Empty with { TokenType = "DPoP" }).IsDpopBound);
        Assert.False((TokenFamilyState.Empty with { TokenType = "Bearer" }).IsDpopBound);
    }
}
