using System.Diagnostics;
using Broker.Testing;
using Broker.Testing.Faults;
using Broker.Testing.Hosting;
using Broker.V1;
using Grpc.Core;
using Xunit.Abstractions;

namespace Broker.Grains.Tests.Families;

/// <summary>
/// Three silo processes, a provider that accepts no reuse of a refresh token (no leeway at the server nor at the
/// broker). A silo is killed (SIGKILL) while one of its refreshes is held at its own proxy; the request then
/// reaches the server, which rotates the token, and the answer is lost. The broker must not send that refresh
/// token again: the family whose refresh was in flight needs reauthorization, every other family keeps serving.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class SiloLossWithoutLeewayTests(Infrastructure infrastructure, ITestOutputHelper output) : IAsyncLifetime
{
    private const int Families = 12;
    // The cluster places a family's grain by its silos' load, not by the silo that asked first: when none of the first
    // families lives on the victim, more are authorized through it, up to this many in all.
    private const int MaxFamilies = 48;
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(3);
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<string> _transient = [];
    private SiloLossCluster _cluster = null!;

    public async Task InitializeAsync() =>
        _cluster = await SiloLossCluster.StartAsync(infrastructure, leeway: null, accessTokenLifetime: TimeSpan.FromMinutes(10), refreshLease: Lease);

    [Fact]
    public async Task Killing_a_silo_mid_refresh_reuses_no_token_and_only_its_family_needs_reauthorization()
    {
        var (server, silos) = (_cluster.Server, _cluster.Silos);
        var subjects = new List<string>();
        for (var i = 0; i < Families; i++) await AuthorizeAsync(subjects, silos[i % silos.Count]);
        var (victim, victimProxy, survivors) = (silos[2], _cluster.Proxies[2], new[] { silos[0], silos[1] });

        // Forced refreshes through the victim until one goes out through its proxy (the family's grain lives there): held.
        victimProxy.Inject(new Fault.Hold(_release.Task), "refresh_token");
        string? interrupted = null;
        Task? heldCall = null;
        var heldSince = Stopwatch.StartNew();
        for (var i = 0; i < MaxFamilies && interrupted is null; i++)
        {
            if (i == subjects.Count) await AuthorizeAsync(subjects, victim);
            var call = victim.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = subjects[i], ForceRefresh = true },
                deadline: DateTime.UtcNow.AddSeconds(60)).ResponseAsync;
            while (!call.IsCompleted && victimProxy.Faulted == 0) await Task.Delay(20);
            if (victimProxy.Faulted == 0)
            {
                await call; // refreshed by the silo that holds that family, not held
                continue;
            }
            (interrupted, heldCall) = (subjects[i], call);
            heldSince.Restart();
        }
        Assert.True(interrupted is not null, $"none of {subjects.Count} families' refreshes went out through the victim's proxy");
        var grantsWhileHeld = server.Stats.RefreshTokenGrants;
        await Task.Delay(300);
        Assert.False(heldCall!.IsCompleted, "the victim's refresh is not in flight");
        Assert.Equal(grantsWhileHeld, server.Stats.RefreshTokenGrants);

        victim.Kill();
        await Assert.ThrowsAnyAsync<RpcException>(() => heldCall);
        _release.SetResult(); // the held request reaches the server, which rotates the token; nobody hears the answer
        var forwarded = Stopwatch.StartNew();
        while (server.Stats.RefreshTokenGrants == grantsWhileHeld && forwarded.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(20);
        Assert.Equal(grantsWhileHeld + 1, server.Stats.RefreshTokenGrants);

        // Once the cluster has noticed the death, the family's next refresh answers REFRESH_OUTCOME_UNKNOWN, never a replay.
        var failover = Stopwatch.StartNew();
        await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "REFRESH_OUTCOME_UNKNOWN", () => ThroughFailoverAsync(
            () => survivors[0].Client.GetAccessTokenAsync(Ask(interrupted, force: true), deadline: Deadline()).ResponseAsync));
        output.WriteLine($"{interrupted}: outcome unknown {failover.Elapsed.TotalSeconds:F1} s after the kill, " +
            $"{heldSince.Elapsed.TotalSeconds:F1} s after its refresh began; transient failures {string.Join(", ", _transient)}");
        Assert.True(heldSince.Elapsed >= Lease - TimeSpan.FromMilliseconds(500), "outcome unknown declared inside the lease");
        foreach (var survivor in survivors)
        {
            var description = await ThroughFailoverAsync(() => survivor.Client.DescribeFamilyAsync(
                new DescribeFamilyRequest { Provider = "test", Subject = interrupted }, deadline: Deadline()).ResponseAsync);
            Assert.Equal(("reauthorization_required", "refresh_outcome_unknown"), (description.Status, description.StatusReason));
            // Its access token is still valid and still served; asking again never spends the refresh token.
            Assert.Equal("cache", (await survivor.Client.GetAccessTokenAsync(Ask(interrupted, force: true), deadline: Deadline())).Source);
        }

        // Every other family, wherever its grain lived, refreshes through the survivors.
        for (var i = 0; i < subjects.Count; i++)
        {
            var subject = subjects[i];
            if (subject == interrupted) continue;
            var survivor = survivors[i % survivors.Length];
            var token = await ThroughFailoverAsync(() => survivor.Client.GetAccessTokenAsync(Ask(subject, force: true), deadline: Deadline()).ResponseAsync);
            Assert.Equal("refresh", token.Source);
            Assert.True(await server.IsActiveAsync(token.AccessToken_), $"{subject} serves an inactive token");
        }
        output.WriteLine($"transient failures in all: {_transient.Count}");
        output.WriteLine(server.Stats.ToString());
        Assert.Equal(0, server.Stats.RefreshTokenReuses);
        Assert.Equal(0, server.Stats.RefreshTokenRejections);
    }

    private static async Task AuthorizeAsync(List<string> subjects, IBrokerEndpoints through)
    {
        var subject = $"loss-{subjects.Count}";
        await AuthorizationFlow.AuthorizeAsync(through, "test", subject, "api.read");
        subjects.Add(subject);
    }

    private static GetAccessTokenRequest Ask(string subject, bool force) => new() { Provider = "test", Subject = subject, ForceRefresh = force };

    private static DateTime Deadline() => DateTime.UtcNow.AddSeconds(20);

    /// <summary>
    /// A call through a survivor, retried only while it answers UNAVAILABLE (the survivors have not yet declared the
    /// killed silo dead), for at most 30 s; every such answer is reported.
    /// </summary>
    private async Task<T> ThroughFailoverAsync<T>(Func<Task<T>> call)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await call();
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable && clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                _transient.Add($"{ex.StatusCode}/{ex.GetRpcStatus()?.GetDetail<Google.Rpc.ErrorInfo>()?.Reason}");
                await Task.Delay(200);
            }
        }
    }

    public async Task DisposeAsync()
    {
        _release.TrySetResult();
        await _cluster.DisposeAsync();
    }
}
