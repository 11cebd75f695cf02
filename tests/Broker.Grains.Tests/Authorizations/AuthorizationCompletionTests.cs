using Broker.Abstractions;
using Broker.Abstractions.Grains;
using Broker.Abstractions.Identity;
using Broker.Abstractions.Tokens;
using Broker.Grains.Authorizations;
using Broker.Grains.Tests.Hosting;
using Broker.OAuth.Authorization;

namespace Broker.Grains.Tests.Authorizations;

/// <summary>
/// Redeemed tokens wait for the caller that began the flow to claim them for the same subject; anything else discards
/// them and revokes their grant. Timing under the fake clock.
/// </summary>
public sealed class AuthorizationCompletionTests(FakeClockCluster cluster) : IClassFixture<FakeClockCluster>
{
    private static readonly AuthorizationResponse Response = new("the-code", "https://as.invalid/", null, null);
    private static readonly Uri ReturnUrl = new("https://app.example/after-login");

    /// <summary>Begins for <paramref name="subject"/> as caller "app", redeems, and returns the completion handle.</summary>
    private async Task<(string Completion, FamilyKey Family)> Redeemed(string subject)
    {
        var family = new FamilyKey(ProviderName.Parse("test"), Subject.Parse(subject));
        var state = OneTimeValue.Create();
        var pending = cluster.Grains.GetGrain<IPendingAuthorizationGrain>(OneTimeValue.KeyOf(state));
        await pending.Begin(family, ScopeSet.Parse(["api.read"]), state, new AuthorizationBinding("app", ReturnUrl, ReplaceAccount: false));
        var completed = await pending.Complete(family.Provider, Response);
        Assert.Equal(ReturnUrl, completed.ReturnUrl);
        return (completed.Completion!, family);
    }

    private IAuthorizationCompletionGrain Completion(string handle) =>
        cluster.Grains.GetGrain<IAuthorizationCompletionGrain>(OneTimeValue.KeyOf(handle));

    private Task<FamilyDescription> Describe(FamilyKey family) =>
        cluster.Grains.GetGrain<ITokenFamilyGrain>(family.ToGrainKey()).Describe();

    [Fact]
    public async Task The_family_holds_nothing_until_the_caller_claims_the_completion_and_a_claim_is_single_use()
    {
        var (completion, family) = await Redeemed("claimed");
        Assert.Equal(FamilyStatus.None, (await Describe(family)).Status);

        var claimed = await Completion(completion).Claim(family, "app");

        Assert.True(claimed.HasRefreshToken);
        Assert.Equal(FamilyStatus.Active, (await Describe(family)).Status);
        var again = await Assert.ThrowsAsync<BrokerException>(() => Completion(completion).Claim(family, "app"));
        Assert.Equal(BrokerErrorReason.InvalidState, again.Reason);
    }

    [Fact]
    public async Task A_claim_for_another_subject_is_refused_and_the_grant_revoked_so_the_right_subject_cannot_claim_it_later()
    {
        var (completion, family) = await Redeemed("victim");
        var other = new FamilyKey(family.Provider, Subject.Parse("attacker"));
        var revokedBefore = cluster.Endpoint.Revoked.Count;

        var refused = await Assert.ThrowsAsync<BrokerException>(() => Completion(completion).Claim(other, "app"));

        Assert.Equal(BrokerErrorReason.PermissionDenied, refused.Reason);
        Assert.Equal(FamilyStatus.None, (await Describe(other)).Status);
        Assert.Contains(cluster.Endpoint.Revoked.Skip(revokedBefore), t => t.StartsWith("code-refresh-", StringComparison.Ordinal));
        var later = await Assert.ThrowsAsync<BrokerException>(() => Completion(completion).Claim(family, "app"));
        Assert.Equal(BrokerErrorReason.InvalidState, later.Reason);
        Assert.Equal(FamilyStatus.None, (await Describe(family)).Status);
    }

    [Fact]
    public async Task A_claim_by_another_caller_is_refused()
    {
        var (completion, family) = await Redeemed("someone");

        var refused = await Assert.ThrowsAsync<BrokerException>(() => Completion(completion).Claim(family, "another-service"));

        Assert.Equal(BrokerErrorReason.PermissionDenied, refused.Reason);
        Assert.Equal(FamilyStatus.None, (await Describe(family)).Status);
    }

    [Fact]
    public async Task A_completion_claimed_after_its_lifetime_is_refused_and_its_grant_revoked()
    {
        var (completion, family) = await Redeemed("too-late");
        var revokedBefore = cluster.Endpoint.Revoked.Count;

        cluster.Clock.Advance(new AuthorizationOptions().CompletionLifetime + TimeSpan.FromMilliseconds(1));
        var refused = await Assert.ThrowsAsync<BrokerException>(() => Completion(completion).Claim(family, "app"));

        Assert.Equal(BrokerErrorReason.InvalidState, refused.Reason);
        Assert.Equal(FamilyStatus.None, (await Describe(family)).Status);
        Assert.Contains(cluster.Endpoint.Revoked.Skip(revokedBefore), t => t.StartsWith("code-refresh-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_completion_claimed_one_millisecond_before_its_lifetime_ends_is_accepted()
    {
        var (completion, family) = await Redeemed("just-in-time");

        cluster.Clock.Advance(new AuthorizationOptions().CompletionLifetime - TimeSpan.FromMilliseconds(1));

        await Completion(completion).Claim(family, "app");
        Assert.Equal(FamilyStatus.Active, (await Describe(family)).Status);
    }
}
