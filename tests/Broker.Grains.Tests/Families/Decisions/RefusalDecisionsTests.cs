using Broker.Abstractions;
using Broker.Abstractions.Tokens;
using Broker.Grains.Families;
using Broker.OAuth.Tokens;
using static Broker.Grains.Families.FamilyEffect;
using static Broker.Grains.Tests.Families.Decisions.FamilyScenario;
using static Broker.Grains.Tests.Families.Decisions.RefreshDecisionsTests;

namespace Broker.Grains.Tests.Families.Decisions;

/// <summary>A refresh the provider refused: invalid_grant, a bare 400/401/403, a bearer answer where DPoP is required; and when that is called theft.</summary>
public sealed class RefusalDecisionsTests
{
    [Fact]
    public void Invalid_grant_for_a_token_never_sent_before_is_reported_as_possible_theft()
    {
        var family = Expiring();
        Claimed(family);

        var decision = family.On(new FamilyEvent.RefreshFailed(new TokenEndpointOutcome.Rejected("invalid_grant", 400), Replayed: false));

        Assert.Equal(FamilyStatusReason.InvalidGrantPossibleTheft, decision.State.StatusReason);
        Assert.Equal(RefreshOutcome.InvalidGrant, decision.State.LastRefreshOutcome);
        Assert.Single(decision.Effects, e => e is Report { Signal: FamilySignal.PossibleTheft });
        Assert.Equal(BrokerErrorReason.ReauthorizationRequired, Single<Fail>(decision).Error.Reason);
    }

    [Fact]
    public void Invalid_grant_after_a_replay_is_not_called_theft()
    {
        var family = Expiring();
        Claimed(family);
        var decision = family.On(new FamilyEvent.RefreshFailed(new TokenEndpointOutcome.Rejected("invalid_grant", 400), Replayed: true));
        Assert.Equal(FamilyStatusReason.InvalidGrantAfterReplay, decision.State.StatusReason);
        Assert.DoesNotContain(decision.Effects, e => e is Report { Signal: FamilySignal.PossibleTheft });
    }

    [Fact]
    public void Invalid_grant_once_the_refresh_tokens_lifetime_passed_is_expiry()
    {
        var family = Expiring(new() { RefreshTokenLifetime = TimeSpan.FromMinutes(9) });
        Claimed(family);
        var decision = family.On(new FamilyEvent.RefreshFailed(new TokenEndpointOutcome.Rejected("invalid_grant", 400), Replayed: false));
        Assert.Equal(FamilyStatusReason.RefreshTokenExpired, decision.State.StatusReason);
    }

    [Theory]
    [InlineData(400)]
    [InlineData(403)]
    public void A_bare_refusal_of_a_token_never_sent_before_stops_the_family_with_its_status_and_reports_possible_theft(int status)
    {
        var family = Expiring();
        Claimed(family);

        var decision = family.On(new FamilyEvent.RefreshFailed(new TokenEndpointOutcome.Refused(status), Replayed: false));

        Assert.Equal((FamilyStatus.ReauthorizationRequired, FamilyStatusReason.RefusedWithoutError), (decision.State.Status, decision.State.StatusReason));
        Assert.Equal(RefreshOutcome.Refused, decision.State.LastRefreshOutcome);
        Assert.Single(decision.Effects, e => e is Report { Signal: FamilySignal.PossibleTheft });
        var error = Single<Fail>(decision).Error;
        Assert.Equal((BrokerErrorReason.ReauthorizationRequired, $"http_{status}"), (error.Reason, error.Detail));
        Assert.Contains(status.ToString(), error.Message);
    }

    [Fact]
    public void A_bearer_answer_where_DPoP_is_required_stops_the_family_without_calling_it_theft()
    {
        var family = Expiring();
        Claimed(family);

        var decision = family.On(new FamilyEvent.RefreshFailed(new TokenEndpointOutcome.Rejected(Broker.OAuth.Dpop.DpopUse.NotBoundError, 200), Replayed: false));

        // The old refresh token was spent by that answer: keeping the family active would send it again (reuse).
        Assert.Equal((FamilyStatus.ReauthorizationRequired, FamilyStatusReason.DpopNotBound), (decision.State.Status, decision.State.StatusReason));
        Assert.Null(decision.State.Intent);
        Assert.DoesNotContain(decision.Effects, e => e is Report { Signal: FamilySignal.PossibleTheft });
        var error = Single<Fail>(decision).Error;
        Assert.Equal((BrokerErrorReason.ReauthorizationRequired, "dpop_not_bound"), (error.Reason, error.Detail));
    }

    [Fact]
    public void A_bare_refusal_after_a_replay_is_not_called_theft()
    {
        var family = Expiring();
        Claimed(family);
        var decision = family.On(new FamilyEvent.RefreshFailed(new TokenEndpointOutcome.Refused(400), Replayed: true));
        Assert.Equal(FamilyStatusReason.RefusedWithoutError, decision.State.StatusReason);
        Assert.DoesNotContain(decision.Effects, e => e is Report { Signal: FamilySignal.PossibleTheft });
    }

    [Fact]
    public void A_bare_401_is_the_clients_authentication_failing_and_keeps_the_family()
    {
        var family = Expiring();
        var before = family.State;
        Claimed(family);

        var decision = family.On(new FamilyEvent.RefreshFailed(new TokenEndpointOutcome.Refused(401), Replayed: false));

        Assert.Equal(before with { LastRefreshOutcome = RefreshOutcome.Refused }, decision.State);
        Assert.Equal((BrokerErrorReason.ProviderRejected, "http_401"), (Single<Fail>(decision).Error.Reason, Single<Fail>(decision).Error.Detail));
    }
}
