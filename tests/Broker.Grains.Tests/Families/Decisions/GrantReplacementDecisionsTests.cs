using Broker.Abstractions.Identity;
using Broker.Abstractions.Tokens;
using Broker.Grains.Families;
using static Broker.Grains.Families.FamilyEffect;
using static Broker.Grains.Tests.Families.Decisions.FamilyScenario;

namespace Broker.Grains.Tests.Families.Decisions;

/// <summary>A new grant (an authorization, an import) replaces the whole token set; the current refresh token is never superseded.</summary>
public sealed class GrantReplacementDecisionsTests
{
    [Fact]
    public void An_authorization_without_a_refresh_token_drops_the_previous_grants_refresh_and_id_tokens()
    {
        var family = new FamilyScenario().Active(TimeSpan.FromMinutes(10));
        family.State = family.State with { IdToken = Secret("old-id") };
        var tokens = family.Tokens(TimeSpan.FromMinutes(10), "new", withRefreshToken: false);

        var decision = family.On(LifecycleDecisionsTests.Authorized(tokens, replaced: "old"));

        Assert.Null(decision.State.RefreshToken);
        Assert.Null(decision.State.RefreshTokenReceivedAt);
        Assert.Null(decision.State.IdToken);
        Assert.Same(tokens.AccessToken, decision.State.AccessToken);
        Assert.Equal(["old"], decision.State.SupersededRefreshTokens); // the old grant's token is no longer this family's
        NeverGoesBackToTheOldGrant(family);
    }

    [Fact]
    public void An_import_without_a_refresh_token_replaces_the_whole_token_set()
    {
        var family = new FamilyScenario().Active(TimeSpan.FromMinutes(10));
        var tokens = family.Tokens(TimeSpan.FromMinutes(10), "imported", withRefreshToken: false);

        var decision = family.On(new FamilyEvent.Imported(tokens, "old", PresentedWasSuperseded: false, PresentedIsHeld: false));

        Assert.Null(decision.State.RefreshToken);
        Assert.Same(tokens.AccessToken, decision.State.AccessToken);
        NeverGoesBackToTheOldGrant(family);
    }

    [Fact]
    public void A_refresh_answered_with_the_same_refresh_token_does_not_supersede_it()
    {
        var family = new FamilyScenario().Active(TimeSpan.FromMinutes(10));
        var kept = family.State.RefreshToken!;
        var tokens = family.Tokens(TimeSpan.FromMinutes(10)) with { RefreshToken = kept };

        var decision = family.On(new FamilyEvent.Refreshed(tokens, "held", RefreshTokenKept: true));

        Assert.Same(kept, decision.State.RefreshToken);
        Assert.Empty(decision.State.SupersededRefreshTokens);
    }

    [Fact]
    public void A_rotating_refresh_still_supersedes_the_spent_token()
    {
        var family = new FamilyScenario().Active(TimeSpan.FromMinutes(10));
        var decision = family.On(new FamilyEvent.Refreshed(family.Tokens(TimeSpan.FromMinutes(10)), "spent"));
        Assert.Equal(["spent"], decision.State.SupersededRefreshTokens);
    }

    [Fact]
    public void Importing_the_held_refresh_token_changes_nothing_even_when_an_older_row_lists_it_as_superseded()
    {
        // Rows written before this rule could hold the current token in the superseded list (a provider that echoed it).
        var family = new FamilyScenario().Active(TimeSpan.FromMinutes(10));
        family.State = family.State with { SupersededRefreshTokens = ["held"] };
        var before = family.State;

        var decision = family.On(new FamilyEvent.Imported(family.Tokens(TimeSpan.FromMinutes(10)), "held", PresentedWasSuperseded: true, PresentedIsHeld: true));

        Assert.Same(before, decision.State);
        Assert.Empty(decision.Effects);
    }

    [Fact]
    public void Imported_scopes_are_kept_as_claimed_even_when_empty()
    {
        var family = new FamilyScenario().Active(TimeSpan.FromMinutes(10));
        var tokens = family.Tokens(TimeSpan.FromMinutes(10), "imported") with { Scopes = ScopeSet.Empty };
        var decision = family.On(new FamilyEvent.Imported(tokens, "held", PresentedWasSuperseded: false, PresentedIsHeld: false));
        Assert.True(decision.State.Scopes.IsEmpty); // what readers may have is the callers' policy's decision, not a wildcard
    }

    /// <summary>Once the new access token expires there is nothing to refresh with: the family needs a new authorization.</summary>
    private static void NeverGoesBackToTheOldGrant(FamilyScenario family)
    {
        family.Clock.Advance(TimeSpan.FromMinutes(10));
        var generation = family.State.Generation;
        Single<Refresh>(family.On(new FamilyEvent.Asked(TimeSpan.FromMinutes(1), Force: false)));
        Nothing<ClaimAndSend>(family.On(new FamilyEvent.RefreshTurn(generation)));
        Assert.NotNull(Single<Fail>(family.On(new FamilyEvent.RefreshSettled(generation))).Error);
    }
}
