using Broker.Testing;
using Broker.Testing.Hosting;
using Broker.Testing.Processes;
using Broker.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Broker.Grains.Tests.Families;

/// <summary>Provider "down" is the same server, but its token endpoint is a port where nothing listens.</summary>
public sealed class OutageBroker : ProxiedBroker
{
    protected override Dictionary<string, string?> Settings => ProviderSettings.Merge(
        ProviderSettings.For("down", Server),
        new() { ["Broker:Providers:down:TokenEndpoint"] = $"http://127.0.0.1:{FreePort.Next()}/token" });
}

public sealed class ProviderOutageTests(OutageBroker broker) : IClassFixture<OutageBroker>
{
    [Fact]
    public async Task While_the_provider_is_down_valid_tokens_are_served_and_refreshes_fail_fast_without_harm()
    {
        var families = new List<(string Subject, string AccessToken)>();
        for (var i = 0; i < 12; i++)
        {
            var held = await broker.Direct.AuthorizeAsync($"outage-{i}", "api.read");
            await broker.Silo.Client.ImportTokensAsync(new ImportTokensRequest
            {
                Provider = "down",
                Subject = $"outage-{i}",
                AccessToken = held.AccessToken,
                RefreshToken = held.RefreshToken!,
                AccessTokenExpiresAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddSeconds(held.ExpiresIn)),
            });
            families.Add(($"outage-{i}", held.AccessToken));
        }

        var why = new List<string>();
        foreach (var (subject, accessToken) in families)
        {
            // A caller that needs a new token: UNAVAILABLE at once, never after the 15 s request timeout.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var status = await GrpcAssert.FailsWith(StatusCode.Unavailable, "PROVIDER_UNAVAILABLE",
                () => broker.Silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "down", Subject = subject, ForceRefresh = true }).ResponseAsync);
            Assert.True(clock.Elapsed < FailFast, $"refusal took {clock.Elapsed.TotalMilliseconds:0} ms");
            why.Add(status.Message);
            // A caller whose token is still good: served from memory.
            var cached = await broker.Silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "down", Subject = subject });
            TokenAssert.Same(accessToken, cached.AccessToken_);
            var description = await broker.Silo.Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "down", Subject = subject });
            Assert.Equal("active", description.Status);
            // Sent and refused ("not_sent"), or held back before anything was sent (no refresh recorded): never worse.
            Assert.Contains(description.LastRefreshOutcome, new[] { "not_sent", "" });
        }

        // The first refused connection holds back every later refresh of this client, on every silo, before any budget
        // is spent or connection tried (a probe goes after each hold; 5 s at first).
        Assert.Contains("no connection to the token endpoint could be made", why[0], StringComparison.Ordinal);
        Assert.Contains("took no connection; every silo holds back new token requests", why[1], StringComparison.Ordinal);
        Assert.True(why.Count(w => w.Contains("no connection to the token endpoint", StringComparison.Ordinal)) <= 3,
            $"more refused connections than holds allow: {string.Join(" | ", why)}");
    }

    /// <summary>Far below the single-attempt client's 15 s timeout, with room for a loaded 2-core machine.</summary>
    private static readonly TimeSpan FailFast = TimeSpan.FromSeconds(5);
}
