using Broker.Testing;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Faults;
using Broker.Testing.Hosting;
using Broker.V1;
using Grpc.Core;

namespace Broker.Grains.Tests.Families;

/// <summary>
/// The proxied broker with a short hold after an unanswered token request (UnansweredRequestBackoff), so that each test's
/// lost answer is waited out in a second instead of holding the next test's requests back.
/// </summary>
public sealed class LostAnswerBroker : ProxiedBroker
{
    public static readonly TimeSpan Backoff = TimeSpan.FromSeconds(1);

    protected override Dictionary<string, string?> Settings => new() { ["Broker:Providers:test:UnansweredBackoff"] = Backoff.ToString() };

    /// <summary>A lost answer held every new token request of the client back: wait it out (bounded by the back-off).</summary>
    public async Task AfterHoldAsync(string subject)
    {
        var description = await Silo.Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = subject });
        Assert.NotNull(description.ThrottledUntil);
        var wait = description.ThrottledUntil.ToDateTimeOffset() - DateTimeOffset.UtcNow;
        Assert.True(wait <= Backoff, $"held for {wait}");
        if (wait > TimeSpan.Zero) await Task.Delay(wait + TimeSpan.FromMilliseconds(50));
    }
}

/// <summary>A refresh whose answer is lost is not replayed, unless the provider grants a reuse leeway.</summary>
public sealed class AmbiguousRefreshTests(LostAnswerBroker broker) : IClassFixture<LostAnswerBroker>
{
    [Fact]
    public async Task Lost_answer_without_leeway_requires_reauthorization_and_keeps_the_valid_token()
    {
        await AuthorizationFlow.AuthorizeAsync(broker.Silo, "test", "lost-answer", "api.read");
        var request = new GetAccessTokenRequest { Provider = "test", Subject = "lost-answer" };
        var held = await broker.Silo.Client.GetAccessTokenAsync(request);
        var refreshes = broker.Server.Stats.RefreshTokenGrants;
        var rejections = broker.Server.Stats.RefreshTokenRejections;
        broker.Proxy.Inject(new Fault.ResetAfterForward(), "refresh_token");

        await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "REFRESH_OUTCOME_UNKNOWN",
            () => broker.Silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "lost-answer", ForceRefresh = true }).ResponseAsync);

        // The server did rotate; the broker did not send the spent token again.
        Assert.Equal(refreshes + 1, broker.Server.Stats.RefreshTokenGrants);
        Assert.Equal(rejections, broker.Server.Stats.RefreshTokenRejections);
        var description = await broker.Silo.Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = "lost-answer" });
        Assert.Equal("reauthorization_required", description.Status);
        Assert.Equal("refresh_outcome_unknown", description.StatusReason);
        // The access token it holds is still valid, so it is still served.
        var still = await broker.Silo.Client.GetAccessTokenAsync(request);
        TokenAssert.Same(held.AccessToken_, still.AccessToken_);
        Assert.Equal(refreshes + 1, broker.Server.Stats.RefreshTokenGrants);
        await broker.AfterHoldAsync("lost-answer");
    }

    [Fact]
    public async Task Reset_before_the_server_saw_the_request_is_still_treated_as_unknown()
    {
        // From the client's side a reset before and after forwarding look alike: both must be handled as unknown.
        await AuthorizationFlow.AuthorizeAsync(broker.Silo, "test", "reset-before", "api.read");
        var refreshes = broker.Server.Stats.RefreshTokenGrants;
        broker.Proxy.Inject(new Fault.ResetBeforeForward(), "refresh_token");

        await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "REFRESH_OUTCOME_UNKNOWN",
            () => broker.Silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "reset-before", ForceRefresh = true }).ResponseAsync);

        Assert.Equal(refreshes, broker.Server.Stats.RefreshTokenGrants);
        await broker.AfterHoldAsync("reset-before");
    }
}

/// <summary>A 503 says the server did not take the request: nothing is spent, the family stays active.</summary>
public sealed class UnavailableProviderTests(ProxiedBroker broker) : IClassFixture<ProxiedBroker>
{
    [Fact]
    public async Task Service_unavailable_leaves_the_family_usable()
    {
        await AuthorizationFlow.AuthorizeAsync(broker.Silo, "test", "unavailable", "api.read");
        var held = await broker.Silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "unavailable" });
        var (refreshes, rejections) = (broker.Server.Stats.RefreshTokenGrants, broker.Server.Stats.RefreshTokenRejections);
        broker.Proxy.Inject(new Fault.ServiceUnavailable(), "refresh_token");

        // A provider that is down is UNAVAILABLE (what clients and meshes retry), with the delay as RetryInfo.
        var status = await GrpcAssert.FailsWith(StatusCode.Unavailable, "PROVIDER_UNAVAILABLE",
            () => broker.Silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "unavailable", ForceRefresh = true }).ResponseAsync);

        var description = await broker.Silo.Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = "unavailable" });
        Assert.Equal("active", description.Status);
        Assert.Equal("throttled", description.LastRefreshOutcome);
        // Usable now: the token in hand is still served.
        var cached = await broker.Silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "unavailable" });
        Assert.Equal("cache", cached.Source);
        TokenAssert.Same(held.AccessToken_, cached.AccessToken_);
        // Usable after the back-off: the refresh token was not spent, so the next refresh is granted.
        var wait = status.GetDetail<Google.Rpc.RetryInfo>()!.RetryDelay.ToTimeSpan();
        Assert.InRange(wait, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(10));
        await Task.Delay(wait + TimeSpan.FromMilliseconds(250));
        var refreshed = await broker.Silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "unavailable", ForceRefresh = true });
        Assert.Equal("refresh", refreshed.Source);
        Assert.True(await broker.Server.IsActiveAsync(refreshed.AccessToken_));
        Assert.Equal((refreshes + 1, rejections), (broker.Server.Stats.RefreshTokenGrants, broker.Server.Stats.RefreshTokenRejections));
    }
}

/// <summary>The same lost answer at a provider that accepts a used refresh token again for 30 s (Okta's grace period).</summary>
public sealed class LeewayBroker : ProxiedBroker
{
    protected override TestAuthorizationServerOptions ServerOptions => new()
    {
        AccessTokenLifetime = TimeSpan.FromMinutes(10),
        RefreshTokenReuseLeeway = TimeSpan.FromSeconds(30),
    };

    protected override Dictionary<string, string?> Settings => new() { ["Broker:Providers:test:RefreshTokenReuseLeeway"] = "00:00:30" };
}

public sealed class AmbiguousRefreshWithLeewayTests(LeewayBroker broker) : IClassFixture<LeewayBroker>
{
    [Fact]
    public async Task Lost_answer_is_replayed_within_the_provider_leeway()
    {
        await AuthorizationFlow.AuthorizeAsync(broker.Silo, "test", "leeway-user", "api.read");
        var refreshes = broker.Server.Stats.RefreshTokenGrants;
        broker.Proxy.Inject(new Fault.ResetAfterForward(), "refresh_token");

        var token = await broker.Silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "leeway-user", ForceRefresh = true });

        Assert.Equal("refresh", token.Source);
        Assert.Equal(refreshes + 2, broker.Server.Stats.RefreshTokenGrants);
        Assert.Equal(0, broker.Server.Stats.RefreshTokenRejections);
        Assert.True(await broker.Server.IsActiveAsync(token.AccessToken_));
        // And the family goes on refreshing with the token of the replayed answer.
        var next = await broker.Silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "leeway-user", ForceRefresh = true });
        Assert.True(await broker.Server.IsActiveAsync(next.AccessToken_));
    }
}
