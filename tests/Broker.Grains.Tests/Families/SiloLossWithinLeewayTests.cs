using System.Collections.Concurrent;
using System.Diagnostics;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Hosting;
using Broker.Testing.Processes;
using Broker.V1;
using Grpc.Core;
using Xunit.Abstractions;

namespace Broker.Grains.Tests.Families;

/// <summary>
/// Three silo processes under a refresh storm over many families; one is killed with SIGKILL mid-storm.
/// The provider (like Okta or Auth0 with a grace period) accepts a used refresh token again for 30 s, and the
/// broker is configured with that leeway: an intent left behind by the dead silo means "outcome unknown",
/// which within the leeway is safe to send once more. So the server may see a refresh token twice (a replay it
/// accepts, counted by <see cref="TestAuthorizationServerStats.RefreshTokenReuses"/>), never three times, never
/// after the leeway, and no call through a survivor fails. Without the leeway see <see cref="SiloLossWithoutLeewayTests"/>.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class SiloLossWithinLeewayTests(Infrastructure infrastructure, ITestOutputHelper output) : IAsyncLifetime
{
    private const int Families = 24;
    private static readonly TimeSpan Leeway = TimeSpan.FromSeconds(30);
    private SiloLossCluster _cluster = null!;
    private IReadOnlyList<SiloProcess> _silos = null!;
    private TestAuthorizationServer _server = null!;

    public async Task InitializeAsync()
    {
        _cluster = await SiloLossCluster.StartAsync(infrastructure, Leeway, accessTokenLifetime: TimeSpan.FromSeconds(3),
            refreshLease: TimeSpan.FromSeconds(5));
        (_silos, _server) = (_cluster.Silos, _cluster.Server);
    }

    [Fact]
    public async Task Killing_a_silo_mid_storm_within_the_reuse_leeway_fails_no_call_and_replays_a_token_at_most_once()
    {
        for (var i = 0; i < Families; i++) await AuthorizationFlow.AuthorizeAsync(_silos[i % _silos.Count], "test", $"storm-{i}", "api.read");

        var victim = _silos[2];
        var failuresViaVictim = 0;
        var failuresViaSurvivors = new ConcurrentBag<(StatusCode Code, string Reason, TimeSpan After)>();
        var served = 0;
        var clock = Stopwatch.StartNew();
        TimeSpan? killedAt = null;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(14));

        var workers = Enumerable.Range(0, 48).Select(w => Task.Run(async () =>
        {
            var random = new Random(w);
            while (!stop.IsCancellationRequested)
            {
                var silo = _silos[random.Next(_silos.Count)];
                var request = new GetAccessTokenRequest { Provider = "test", Subject = $"storm-{random.Next(Families)}", MinTtlSeconds = 1 };
                try
                {
                    await silo.Client.GetAccessTokenAsync(request, deadline: DateTime.UtcNow.AddSeconds(20));
                    Interlocked.Increment(ref served);
                }
                catch (RpcException) when (silo == victim && killedAt is not null)
                {
                    Interlocked.Increment(ref failuresViaVictim);
                    await Task.Delay(20);
                }
                catch (RpcException ex)
                {
                    var reason = ex.GetRpcStatus()?.GetDetail<Google.Rpc.ErrorInfo>()?.Reason ?? "";
                    failuresViaSurvivors.Add((ex.StatusCode, reason, clock.Elapsed - (killedAt ?? clock.Elapsed)));
                    await Task.Delay(20);
                }
            }
        })).ToList();

        await Task.Delay(TimeSpan.FromSeconds(4));
        killedAt = clock.Elapsed;
        victim.Kill();
        await Task.WhenAll(workers);

        // Afterwards every family serves a token through a surviving silo, without reauthorization.
        var rejections = _server.Stats.RefreshTokenRejections;
        for (var i = 0; i < Families; i++)
        {
            var token = await _silos[0].Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = $"storm-{i}", MinTtlSeconds = 1 });
            Assert.True(await _server.IsActiveAsync(token.AccessToken_), $"family storm-{i} serves an inactive token");
            var description = await _silos[1].Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = $"storm-{i}" });
            Assert.Equal("active", description.Status);
        }

        var survivorFailures = failuresViaSurvivors.ToList();
        output.WriteLine($"served {served}, refreshes {_server.Stats.RefreshTokenGrants}, server rejections {rejections}, " +
            $"failures via killed silo {failuresViaVictim}, via survivors {survivorFailures.Count} " +
            $"({string.Join(", ", survivorFailures.GroupBy(f => $"{f.Code}/{f.Reason}").Select(g => $"{g.Key}: {g.Count()}"))}), " +
            $"last survivor failure {(survivorFailures.Count == 0 ? "none" : $"{survivorFailures.Max(f => f.After).TotalSeconds:F1} s after the kill")}");
        output.WriteLine($"refresh token reuses {_server.Stats.RefreshTokenReuses}, longest after {_server.Stats.LongestReuseDelay.TotalSeconds:F1} s; " +
            $"refreshes sent by the killed silo {_cluster.Proxies[2].Forwarded}");
        Assert.Equal(0, rejections);
        // A replay only finishes a refresh the killed silo left unfinished: once per token, inside the leeway.
        Assert.InRange(_server.Stats.MostPresentationsOfOneRefreshToken, 1, 2);
        Assert.True(_server.Stats.LongestReuseDelay < Leeway, $"a refresh token was reused {_server.Stats.LongestReuseDelay} after its first use");
        Assert.InRange(_server.Stats.RefreshTokenReuses, 0, Families);
        // Calls through the surviving silos never failed: only calls sent to the killed silo did.
        Assert.Empty(survivorFailures);
        Assert.True(failuresViaVictim > 0, "the storm never reached the killed silo after the kill");
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();
}
