using System.Diagnostics.Metrics;
using Broker.Abstractions;
using Broker.Abstractions.Grains;
using Broker.Abstractions.Tokens;
using Broker.Grains.Families;
using Broker.Grains.Tests.Hosting;
using Broker.OAuth.Tokens;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Grains.Tests.Families.Timing;

/// <summary>A provider whose refresh tokens live 30 days.</summary>
public sealed class ExpiringRefreshTokensCluster : FakeClockCluster
{
    protected override Dictionary<string, string?> Settings => new() { ["Broker:Providers:test:RefreshTokenLifetime"] = "30.00:00:00" };
}

/// <summary>Refusals, back-off and unreadable state on the fast layer, with what they log and count.</summary>
public sealed class RefusalTimingTests(ExpiringRefreshTokensCluster cluster) : IClassFixture<ExpiringRefreshTokensCluster>
{
    private static readonly TimeSpan CallerBuffer = TimeSpan.FromSeconds(30);
    private static readonly TokenEndpointOutcome InvalidGrant = new TokenEndpointOutcome.Rejected("invalid_grant", 400);

    [Fact]
    public async Task Invalid_grant_before_the_refresh_token_lifetime_is_possible_theft_logged_as_event_2003()
    {
        var family = await cluster.ImportedFamily("theft");
        cluster.Clock.Advance(TimeSpan.FromMinutes(10));
        cluster.Endpoint.NextRefreshes.Enqueue(() => InvalidGrant);

        var error = await Assert.ThrowsAsync<BrokerException>(() => family.GetAccessToken(CallerBuffer, false));

        Assert.Equal((BrokerErrorReason.ReauthorizationRequired, "invalid_grant_possible_theft"), (error.Reason, error.Detail));
        Assert.Contains(cluster.Logs.Entries, e => e.Contains("#2003", StringComparison.Ordinal) && e.Contains("[Error]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Invalid_grant_once_the_refresh_token_lifetime_has_passed_is_expiry_not_theft()
    {
        var family = await cluster.ImportedFamily("expired");
        cluster.Clock.Advance(TimeSpan.FromDays(30));
        cluster.Endpoint.NextRefreshes.Enqueue(() => InvalidGrant);
        var logged = cluster.Logs.Entries.Count(e => e.Contains("#2003", StringComparison.Ordinal));

        var error = await Assert.ThrowsAsync<BrokerException>(() => family.GetAccessToken(CallerBuffer, false));

        Assert.Equal("refresh_token_expired", error.Detail);
        Assert.Equal(FamilyStatusReason.RefreshTokenExpired, (await family.Describe()).StatusReason);
        Assert.Equal(logged, cluster.Logs.Entries.Count(e => e.Contains("#2003", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData(503, BrokerErrorReason.ProviderUnavailable)]
    [InlineData(429, BrokerErrorReason.Throttled)]
    public async Task A_providers_retry_after_holds_back_every_family_of_the_client_until_it_passes(int status, BrokerErrorReason reason)
    {
        var first = await cluster.ImportedFamily($"held-{status}-1");
        var second = await cluster.ImportedFamily($"held-{status}-2");
        cluster.Clock.Advance(TimeSpan.FromMinutes(10));
        cluster.Endpoint.NextRefreshes.Enqueue(() => new TokenEndpointOutcome.Throttled(TimeSpan.FromSeconds(30), status));

        var told = await Assert.ThrowsAsync<BrokerException>(() => first.GetAccessToken(CallerBuffer, false));
        Assert.Equal((reason, TimeSpan.FromSeconds(30)), (told.Reason, told.RetryAfter));
        var sent = cluster.Endpoint.RefreshesSent.Count;

        cluster.Clock.Advance(TimeSpan.FromSeconds(10));
        var held = await Assert.ThrowsAsync<BrokerException>(() => second.GetAccessToken(CallerBuffer, false));
        Assert.Equal((reason, TimeSpan.FromSeconds(20)), (held.Reason, held.RetryAfter));
        Assert.Equal(sent, cluster.Endpoint.RefreshesSent.Count); // nothing was sent while held back
        Assert.Equal(FamilyStatus.Active, (await first.Describe()).Status);

        cluster.Clock.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal(TokenSource.Refresh, (await second.GetAccessToken(CallerBuffer, false)).Source);
    }

    [Fact]
    public async Task Altered_ciphertext_answers_state_unreadable_marks_the_family_and_is_counted_once()
    {
        var family = await cluster.ImportedFamily("tampered");
        var meters = cluster.SiloServices.GetRequiredService<IMeterFactory>();
        long unreadable = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == meters && instrument.Name == "broker.security.state_unreadable") l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref unreadable, value));
        listener.Start();

        var stored = cluster.Storage.Read<TokenFamilyState>("family", family.GetGrainId())!;
        var ciphertext = stored.AccessToken!.Ciphertext.ToArray();
        ciphertext[0] ^= 1;
        cluster.Storage.WriteBehindTheGrain("family", family.GetGrainId(), stored with { AccessToken = stored.AccessToken with { Ciphertext = ciphertext } });
        await cluster.Cluster.DeactivateAsync(family);

        for (var i = 0; i < 2; i++)
        {
            var error = await Assert.ThrowsAsync<BrokerException>(() => family.GetAccessToken(CallerBuffer, false));
            Assert.Equal(BrokerErrorReason.StateUnreadable, error.Reason);
        }

        Assert.Equal(1, Interlocked.Read(ref unreadable));
        var described = await family.Describe();
        Assert.Equal((FamilyStatus.ReauthorizationRequired, FamilyStatusReason.StateUnreadable), (described.Status, described.StatusReason));
        Assert.Equal(ciphertext, cluster.Storage.Read<TokenFamilyState>("family", family.GetGrainId())!.AccessToken!.Ciphertext); // kept, not reset
    }
}
