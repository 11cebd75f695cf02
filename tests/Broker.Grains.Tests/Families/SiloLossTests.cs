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
/// which within the leeway is safe to retry.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class SiloLossTests(Infrastructure infrastructure, ITestOutputHelper output) : IAsyncLifetime
{
    private const int Families = 24;
    private TestAuthorizationServer _server = null!;
    private readonly List<SiloProcess> _silos = [];

    public async Task InitializeAsync()
    {
        _server = await TestAuthorizationServer.StartAsync(new TestAuthorizationServerOptions
        {
            AccessTokenLifetime = TimeSpan.FromSeconds(3),
            RefreshTokenReuseLeeway = TimeSpan.FromSeconds(30),
        });
        var settings = ClusterSpec.New(await infrastructure.NewDatabaseAsync(), infrastructure.Redis.Configuration, ProviderSettings.Merge(
            ProviderSettings.For("test", _server), new()
            {
                ["Broker:Providers:test:RefreshTokenReuseLeeway"] = "00:00:30",
                ["Broker:Providers:test:TokenRequestsPerMinute"] = "6000",
                ["Broker:Providers:test:TokenRequestBurst"] = "200",
                ["Broker:Families:RefreshLease"] = "00:00:05",
                ["Broker:Families:RefreshAhead"] = "false",
                ["Broker:Membership:ProbeTimeout"] = "00:00:01",
                ["Broker:Membership:NumMissedProbesLimit"] = "2",
            })).ProcessSettings();
        foreach (var silo in await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => SiloProcess.StartAsync(settings))))
        {
            _silos.Add(silo);
            await _server.AddRedirectUriAsync("broker", silo.RedirectUri("test"));
        }
    }

    [Fact]
    public async Task Killing_a_silo_mid_storm_loses_no_family()
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
        Assert.Equal(0, rejections);
        // Calls through the surviving silos never failed: only calls sent to the killed silo did.
        Assert.Empty(survivorFailures);
        Assert.True(failuresViaVictim > 0, "the storm never reached the killed silo after the kill");
    }

    public async Task DisposeAsync()
    {
        foreach (var silo in _silos) await silo.DisposeAsync();
        await _server.DisposeAsync();
    }
}
