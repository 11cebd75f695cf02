using Broker.Abstractions;
using Broker.Abstractions.Grains;
using Broker.Abstractions.Identity;
using Broker.Abstractions.Tokens;
using Broker.Grains.Authorizations;
using Broker.Grains.Tests.Hosting;
using Broker.OAuth.Authorization;
using Broker.OAuth.Tokens;

namespace Broker.Grains.Tests.Authorizations;

/// <summary>A code redemption the server never took leaves the authorization usable; one it took spends it.</summary>
public sealed class PendingAuthorizationTests(FakeClockCluster cluster) : IClassFixture<FakeClockCluster>
{
    private static readonly AuthorizationResponse Response = new("the-code", "https://as.invalid/", null, null);

    private async Task<(IPendingAuthorizationGrain Pending, FamilyKey Family)> Begin(string subject)
    {
        var family = new FamilyKey(ProviderName.Parse("test"), Subject.Parse(subject));
        var state = OneTimeValue.Create();
        var pending = cluster.Grains.GetGrain<IPendingAuthorizationGrain>(OneTimeValue.KeyOf(state));
        await pending.Begin(family, ScopeSet.Parse(["api.read"]), state, new AuthorizationBinding("tests", ReturnUrl: null, ReplaceAccount: false));
        return (pending, family);
    }

    public static TheoryData<TokenEndpointOutcome> NotTaken => new()
    {
        new TokenEndpointOutcome.NotSent("connection refused"),
        new TokenEndpointOutcome.Throttled(TimeSpan.FromSeconds(2), 503),
        new TokenEndpointOutcome.Throttled(TimeSpan.FromSeconds(2), 429),
    };

    [Theory]
    [MemberData(nameof(NotTaken))]
    public async Task A_redemption_the_server_never_took_can_be_retried_with_the_same_callback(TokenEndpointOutcome outcome)
    {
        var (pending, family) = await Begin($"retry-{outcome.Kind}");
        cluster.Endpoint.NextRedemptions.Enqueue(() => outcome);

        var first = await Assert.ThrowsAsync<BrokerException>(() => pending.Complete(family.Provider, Response));
        Assert.Equal(PendingAuthorizationGrain.NotSentDetail, first.Detail);
        cluster.Clock.Advance(TimeSpan.FromSeconds(2)); // past any back-off the provider asked for

        var completed = await pending.Complete(family.Provider, Response);

        Assert.Equal(family, completed.Family);
        Assert.Equal(FamilyStatus.Active, (await cluster.Grains.GetGrain<ITokenFamilyGrain>(family.ToGrainKey()).Describe()).Status);
    }

    [Fact]
    public async Task A_redemption_whose_answer_was_lost_spends_the_state()
    {
        var (pending, family) = await Begin("spent");
        cluster.Endpoint.NextRedemptions.Enqueue(() => new TokenEndpointOutcome.OutcomeUnknown("reset after sending"));

        var first = await Assert.ThrowsAsync<BrokerException>(() => pending.Complete(family.Provider, Response));
        Assert.NotEqual(PendingAuthorizationGrain.NotSentDetail, first.Detail);

        var again = await Assert.ThrowsAsync<BrokerException>(() => pending.Complete(family.Provider, Response));
        Assert.Equal(BrokerErrorReason.InvalidState, again.Reason);
    }
}
