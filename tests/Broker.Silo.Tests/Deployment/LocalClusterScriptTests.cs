using System.Diagnostics;
using Broker.Testing;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Hosting;
using Broker.Testing.Processes;
using Broker.V1;
using Xunit;

namespace Broker.Silo.Tests.Deployment;

/// <summary>
/// compose/local-cluster.sh as an operator runs it: two silos with PostgreSQL and Redis from the local build, on
/// ports the test checked are free. A family is authorized; the silo that holds its grain (the cluster says which)
/// is killed (SIGKILL) while callers keep asking the other silo. Tokens live 4 s, so the family must be refreshed
/// by the survivor after the kill: every call is answered, and `stop` ends everything.
/// </summary>
// With the other users of the script and of the build it runs (ReadmeExamplesTests): two builds of one tree at once
// rewrite each other's outputs and crawl.
[Collection(Cluster.ClusterCollection.Name)]
public sealed class LocalClusterScriptTests : IAsyncLifetime
{
    private const int Silos = 2;
    private string _folder = $"/tmp/broker-local-test-{Guid.NewGuid():N}";
    private int _offset = LocalClusterPorts.FreeOffset(Silos);
    private int _redisPort = FreePort.Next();
    private TestAuthorizationServer _server = null!;
    private Dictionary<string, string?> _environment = null!;

    public async Task InitializeAsync()
    {
        _server = await TestAuthorizationServer.StartAsync(new TestAuthorizationServerOptions { AccessTokenLifetime = TimeSpan.FromSeconds(4) });
        _environment = ProviderSettings.Merge(ProviderSettings.For("test", _server), new()
        {
            ["BROKER_LOCAL_DIR"] = _folder,
            ["BROKER_LOCAL_PG_PORT"] = FreePort.Next().ToString(),
            ["BROKER_LOCAL_REDIS_PORT"] = _redisPort.ToString(),
            ["BROKER_LOCAL_PORT_OFFSET"] = _offset.ToString(),
            // Detect the killed silo within seconds rather than the production default.
            ["Broker:Membership:ProbeTimeout"] = "00:00:01",
            ["Broker:Membership:NumMissedProbesLimit"] = "2",
        });
    }

    [Fact]
    public async Task Script_runs_a_cluster_whose_other_silo_takes_over_and_refreshes_a_family_after_its_silo_is_killed()
    {
        var started = await StartClusterAsync();
        Assert.True(started.ExitCode == 0, started.Output + started.Errors);
        Assert.Contains("silo 1 ready", started.Output, StringComparison.Ordinal);
        var apiKey = File.ReadAllText(Path.Combine(_folder, "api-key")).Trim();
        var silos = Enumerable.Range(0, Silos).Select(i => new ExternalSilo(5300 + _offset + i, 5380 + _offset + i, apiKey)).ToList();
        try
        {
            await _server.AddRedirectUriAsync("broker", silos[0].RedirectUri("test")); // the script's PublicBaseUrl
            await AuthorizationFlow.AuthorizeDirectlyAsync(silos[0], "test", "local-user", "api.read");

            // Ask the cluster which silo holds the family's grain: that one is killed, the other one serves.
            await using var observer = await ClusterObserver.ConnectAsync($"127.0.0.1:{_redisPort}");
            var holder = await observer.SiloPortOfFamilyAsync("test", "local-user");
            Assert.NotNull(holder);
            var victim = holder!.Value - 11111 - _offset;
            Assert.InRange(victim, 0, Silos - 1);
            var survivor = silos[1 - victim];
            var request = new GetAccessTokenRequest { Provider = "test", Subject = "local-user", MinTtlSeconds = 1 };
            var first = await survivor.Client.GetAccessTokenAsync(request, deadline: DateTime.UtcNow.AddSeconds(20));
            Assert.True(await _server.IsActiveAsync(first.AccessToken_));

            var calls = 0;
            var failures = new List<string>();
            var servedAfterKill = new HashSet<string>(StringComparer.Ordinal);
            var killed = false;
            using var load = new CancellationTokenSource(TimeSpan.FromSeconds(16));
            var callers = Enumerable.Range(0, 4).Select(async _ =>
            {
                while (!load.IsCancellationRequested)
                {
                    try
                    {
                        var served = await survivor.Client.GetAccessTokenAsync(request, deadline: DateTime.UtcNow.AddSeconds(20));
                        Interlocked.Increment(ref calls);
                        if (Volatile.Read(ref killed)) lock (servedAfterKill) servedAfterKill.Add(served.AccessToken_);
                    }
                    catch (Grpc.Core.RpcException ex)
                    {
                        lock (failures) failures.Add(ex.StatusCode.ToString());
                    }
                }
            }).ToList();

            // Kill just after a refresh, so the victim has none in flight (that case is SiloLossWithoutLeewayTests').
            var refreshes = _server.Stats.RefreshTokenGrants;
            var watch = Stopwatch.StartNew();
            while (_server.Stats.RefreshTokenGrants == refreshes && watch.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(20);
            Assert.True(_server.Stats.RefreshTokenGrants > refreshes, "the family was not refreshed within 10 s before the kill");
            await Task.Delay(300);
            var pid = int.Parse(File.ReadAllText(Path.Combine(_folder, "run", $"silo-{victim}.pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            var refreshesAtKill = _server.Stats.RefreshTokenGrants;
            Process.GetProcessById(pid).Kill(); // SIGKILL: no goodbye to the cluster
            Volatile.Write(ref killed, true);
            await Task.WhenAll(callers);

            Assert.Empty(failures);
            Assert.True(calls > 100, $"{calls} calls served");
            // 16 s of 4 s tokens: the survivor refreshed the family itself, more than once, and served what it got.
            Assert.True(_server.Stats.RefreshTokenGrants >= refreshesAtKill + 2, $"{_server.Stats.RefreshTokenGrants - refreshesAtKill} refreshes after the kill");
            Assert.True(servedAfterKill.Count >= 3, $"{servedAfterKill.Count} distinct tokens served after the kill");
            Assert.Equal(0, _server.Stats.RefreshTokenReuses);
            Assert.Equal(0, _server.Stats.RefreshTokenRejections);
            Assert.Equal(11111 + _offset + (1 - victim), await observer.SiloPortOfFamilyAsync("test", "local-user"));
        }
        finally
        {
            foreach (var silo in silos) silo.Dispose();
        }

        var stopped = await ScriptAsync("stop");
        Assert.Equal(0, stopped.ExitCode);
        Assert.Contains("stopped", stopped.Output, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(Path.Combine(_folder, "run"), "silo-*.pid"));
        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => probe.GetAsync($"http://127.0.0.1:{5380 + _offset}/health/live"));
    }

    /// <summary>
    /// <c>start 2</c>; when a server of the cluster could not bind its port (another process took it after FreePort
    /// handed it out), everything is stopped and started again in a new folder on new ports.
    /// </summary>
    private async Task<ProgramRun.Result> StartClusterAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            var started = await ScriptAsync("start", Silos.ToString());
            if (started.ExitCode == 0 || attempt == FreePort.Attempts) return started;
            var logs = Directory.Exists(Path.Combine(_folder, "run"))
                ? Directory.GetFiles(Path.Combine(_folder, "run"), "*.log").Select(File.ReadAllText) : [];
            if (!FreePort.LostRace(started.Output + started.Errors + string.Join('\n', logs))) return started;
            await ScriptAsync("destroy");
            _folder = $"/tmp/broker-local-test-{Guid.NewGuid():N}";
            _offset = LocalClusterPorts.FreeOffset(Silos);
            _redisPort = FreePort.Next();
            _environment["BROKER_LOCAL_DIR"] = _folder;
            _environment["BROKER_LOCAL_PG_PORT"] = FreePort.Next().ToString();
            _environment["BROKER_LOCAL_REDIS_PORT"] = _redisPort.ToString();
            _environment["BROKER_LOCAL_PORT_OFFSET"] = _offset.ToString();
        }
    }

    private Task<ProgramRun.Result> ScriptAsync(params string[] arguments) =>
        ProgramRun.RunAsync("bash", [Path.Combine(BuiltAssembly.RepositoryRoot(), "compose", "local-cluster.sh"), .. arguments], _environment);

    public async Task DisposeAsync()
    {
        await ScriptAsync("stop"); // idempotent: also after a failed assertion
        await ScriptAsync("destroy"); // the database too, which may live outside the folder
        await _server.DisposeAsync();
    }
}
