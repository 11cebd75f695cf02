using System.Reflection;
using Broker.Abstractions.Tokens;
using Broker.Grains.Families;
using static Broker.Grains.Tests.Families.Decisions.FamilyScenario;

namespace Broker.Grains.Tests.Families.Decisions;

public sealed class TokenFamilyStateTests
{
    private static readonly string[] Growing =
        [nameof(TokenFamilyState.Generation), nameof(TokenFamilyState.RefreshCount), nameof(TokenFamilyState.SupersededRefreshTokens)];

    [Fact]
    public void After_a_lost_write_our_decision_wins_and_what_only_grows_keeps_growing()
    {
        var stored = new FamilyScenario().Active(TimeSpan.FromHours(1)).State with
        {
            Generation = 9, RefreshCount = 7, SupersededRefreshTokens = ["a", "b"], StatusReason = FamilyStatusReason.MarkedByOperator,
        };
        var mine = new FamilyScenario().Active(TimeSpan.FromHours(2)).State with
        {
            Generation = 5, RefreshCount = 8, SupersededRefreshTokens = ["b", "c"], AccessToken = Secret("mine"),
        };

        var merged = TokenFamilyState.MergeAfterLostWrite(stored, mine);

        Assert.Equal((9L, 8L), (merged.Generation, merged.RefreshCount));
        Assert.Equal(["a", "b", "c"], merged.SupersededRefreshTokens);
        Assert.Same(mine.AccessToken, merged.AccessToken);
        Assert.Equal(FamilyStatusReason.None, merged.StatusReason);
    }

    [Fact]
    public void Every_other_field_follows_our_decision_in_the_merge_even_one_added_later()
    {
        var stored = TokenFamilyState.Empty;
        var mine = new FamilyScenario().Active(TimeSpan.FromHours(1)).State with
        {
            Intent = new RefreshIntent(Guid.NewGuid(), 3, Start), IdToken = Secret("id"), LastRefreshAt = Start,
            LastRefreshOutcome = RefreshOutcome.Throttled, StatusReason = FamilyStatusReason.Revoked, TokenType = "DPoP",
        };
        var merged = TokenFamilyState.MergeAfterLostWrite(stored, mine);

        foreach (var property in typeof(TokenFamilyState).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (Growing.Contains(property.Name) || property.GetIndexParameters().Length > 0) continue;
            Assert.True(Equals(property.GetValue(mine), property.GetValue(merged)), $"{property.Name} did not follow our decision");
        }
    }

    [Fact]
    public void A_row_with_reasons_stored_as_strings_reads_as_todays_enums()
    {
        var legacy = TokenFamilyState.Empty with
        {
            Status = FamilyStatus.ReauthorizationRequired,
            LegacyStatusReason = "invalid_grant_possible_theft",
            LegacyLastRefreshOutcome = "invalid_client",
        };

        var upgraded = legacy.Upgraded();

        Assert.Equal(FamilyStatusReason.InvalidGrantPossibleTheft, upgraded.StatusReason);
        Assert.Equal(RefreshOutcome.Rejected, upgraded.LastRefreshOutcome);
        Assert.Null(upgraded.LegacyStatusReason);
        Assert.Null(upgraded.LegacyLastRefreshOutcome);
    }

    [Theory]
    [InlineData("refresh_outcome_unknown", FamilyStatusReason.RefreshOutcomeUnknown)]
    [InlineData("state_unreadable", FamilyStatusReason.StateUnreadable)]
    [InlineData("marked_by_operator", FamilyStatusReason.MarkedByOperator)]
    [InlineData("token_reuse_detected", FamilyStatusReason.TokenReuseDetected)]
    [InlineData("revoked", FamilyStatusReason.Revoked)]
    [InlineData("invalid_grant_after_replay", FamilyStatusReason.InvalidGrantAfterReplay)]
    [InlineData("refresh_token_expired", FamilyStatusReason.RefreshTokenExpired)]
    public void Every_reason_an_earlier_version_wrote_reads_back(string wire, FamilyStatusReason reason)
    {
        Assert.Equal(reason, FamilyWireNames.ParseReason(wire));
        Assert.Equal(wire, FamilyWireNames.Of(reason));
    }

    [Theory]
    [InlineData("issued", RefreshOutcome.Issued)]
    [InlineData("invalid_grant", RefreshOutcome.InvalidGrant)]
    [InlineData("throttled", RefreshOutcome.Throttled)]
    [InlineData("not_sent", RefreshOutcome.NotSent)]
    [InlineData("metadata_unavailable", RefreshOutcome.NotSent)]
    [InlineData("refresh_outcome_unknown", RefreshOutcome.OutcomeUnknown)]
    [InlineData("unauthorized_client", RefreshOutcome.Rejected)]
    public void Every_outcome_an_earlier_version_wrote_reads_back(string wire, RefreshOutcome outcome) =>
        Assert.Equal(outcome, FamilyWireNames.ParseOutcome(wire));
}
