using System.Diagnostics;
using Broker.Testing.Faults;
using Broker.Testing.Hosting;
using Broker.V1;
using Grpc.Core;
using Xunit.Abstractions;

namespace Broker.Grains.Tests.Families;

/// <summary>
/// A silo stopped gracefully (SIGTERM) while a background refresh (refresh-ahead) of one of its families is at the
/// server. The README promises a graceful stop hands its grains over; for that family it means the stopping silo
/// finishes the refresh it started (the answer arrives half a second after SIGTERM) and records it, so the other
/// silo serves the family at once, not after the refresh lease (30 s, longer than any caller's deadline).
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class GracefulStopTests(Infrastructure infrastructure, ITestOutputHelper output) : IAsyncLifetime
{
    private const int Families = 6;
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private SiloLossCluster _cluster = null!;

    public async Task InitializeAsync() =>
        _cluster = await SiloLossCluster.StartAsync(infrastructure, leeway: null, accessTokenLifetime: TimeSpan.FromSeconds(6),
            refreshLease: TimeSpan.FromSeconds(30), silos: 2, overrides: new()
            {
                ["Broker:Families:RefreshAhead"] = "true",
                ["Broker:Families:ExpiryBuffer"] = "00:00:04",
                ["Broker:Families:RefreshAheadJitter"] = "0",
            });

    // Failed before TokenFamilyGrain.OnDeactivateAsync waited for its background refresh (DeadlineExceeded after 20 s; the
    // stopping silo exited 0.5 s after SIGTERM, leaving its intent in the row): the rare 20 s stall of ScalingTests.
    [Fact]
    public async Task Graceful_stop_finishes_a_background_refresh_in_flight_so_the_other_silo_serves_at_once()
    {
        var (server, stopping, proxy, other) = (_cluster.Server, _cluster.Silos[0], _cluster.Proxies[0], _cluster.Silos[1]);
        for (var i = 0; i < Families; i++) await AuthorizationFlow.AuthorizeAsync(stopping, "test", $"stop-{i}", "api.read");
        proxy.Inject(new Fault.Hold(_release.Task), "refresh_token");

        // Callers of each family through the stopping silo until one of its own grains starts a refresh-ahead: held.
        string? held = null;
        for (var i = 0; i < Families && held is null; i++)
        {
            var grants = server.Stats.RefreshTokenGrants;
            var watch = Stopwatch.StartNew();
            while (proxy.Faulted == 0 && server.Stats.RefreshTokenGrants == grants && watch.Elapsed < TimeSpan.FromSeconds(6))
            {
                var served = await stopping.Client.GetAccessTokenAsync(Ask($"stop-{i}", minTtl: 1), deadline: DateTime.UtcNow.AddSeconds(20));
                Assert.Equal("cache", served.Source); // a background refresh: no caller waits for it
                await Task.Delay(100);
            }
            if (proxy.Faulted > 0) held = $"stop-{i}";
        }
        Assert.True(held is not null, "no refresh-ahead went out through the stopping silo's proxy");

        var clock = Stopwatch.StartNew();
        var stop = stopping.StopGracefullyAsync(TimeSpan.FromSeconds(60));
        await Task.Delay(500);
        _release.SetResult(); // the server answers; a graceful stop should hear it and record it
        await stop;
        output.WriteLine($"{held}: stopping silo exited {clock.Elapsed.TotalSeconds:F1} s after SIGTERM");

        var asked = Stopwatch.StartNew();
        var token = await other.Client.GetAccessTokenAsync(Ask(held!, minTtl: 4), deadline: DateTime.UtcNow.AddSeconds(20));
        output.WriteLine($"{held}: served by the other silo in {asked.Elapsed.TotalSeconds:F1} s ({token.Source}); {server.Stats}");
        Assert.True(asked.Elapsed < TimeSpan.FromSeconds(5), $"the other silo took {asked.Elapsed.TotalSeconds:F1} s");
        Assert.True(await server.IsActiveAsync(token.AccessToken_));
        Assert.Equal(0, server.Stats.RefreshTokenReuses);
    }

    private static GetAccessTokenRequest Ask(string subject, uint minTtl) => new() { Provider = "test", Subject = subject, MinTtlSeconds = minTtl };

    public async Task DisposeAsync()
    {
        _release.TrySetResult();
        await _cluster.DisposeAsync();
    }
}
