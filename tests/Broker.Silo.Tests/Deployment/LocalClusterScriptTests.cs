using System.Diagnostics;
using Broker.Testing;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Hosting;
using Broker.Testing.Processes;
using Broker.V1;
using Xunit;

namespace Broker.Silo.Tests.Deployment;

/// <summary>
/// compose/local-cluster.sh as an operator runs it: two silos with PostgreSQL and Redis from the local build.
/// A family authorized through silo 0 is served by silo 1; silo 0 is then killed (SIGKILL) while callers keep
/// asking silo 1, which must answer every call; `stop` ends everything.
/// </summary>
public sealed class LocalClusterScriptTests : IAsyncLifetime
{
    private string _folder = $"/tmp/broker-local-test-{Guid.NewGuid():N}";
    private int _offset = Random.Shared.Next(20, 80);
    private TestAuthorizationServer _server = null!;
    private Dictionary<string, string?> _environment = null!;

    public async Task InitializeAsync()
    {
        _server = await TestAuthorizationServer.StartAsync(new TestAuthorizationServerOptions { AccessTokenLifetime = TimeSpan.FromMinutes(10) });
        _environment = ProviderSettings.Merge(ProviderSettings.For("test", _server), new()
        {
            ["BROKER_LOCAL_DIR"] = _folder,
            ["BROKER_LOCAL_PG_PORT"] = FreePort.Next().ToString(),
            ["BROKER_LOCAL_REDIS_PORT"] = FreePort.Next().ToString(),
            ["BROKER_LOCAL_PORT_OFFSET"] = _offset.ToString(),
            // Detect the killed silo within seconds rather than the production default.
            ["Broker:Membership:ProbeTimeout"] = "00:00:01",
            ["Broker:Membership:NumMissedProbesLimit"] = "2",
        });
    }

    [Fact]
    public async Task Script_runs_a_cluster_that_survives_losing_a_silo_and_stops_cleanly()
    {
        var started = await StartClusterAsync();
        Assert.True(started.ExitCode == 0, started.Output + started.Errors);
        Assert.Contains("silo 1 ready", started.Output, StringComparison.Ordinal);
        var apiKey = File.ReadAllText(Path.Combine(_folder, "api-key")).Trim();
        using var silo0 = new ExternalSilo(5300 + _offset, 5380 + _offset, apiKey);
        using var silo1 = new ExternalSilo(5301 + _offset, 5381 + _offset, apiKey);
        await _server.AddRedirectUriAsync("broker", silo0.RedirectUri("test"));

        await AuthorizationFlow.AuthorizeAsync(silo0, "test", "local-user", "api.read");
        var request = new GetAccessTokenRequest { Provider = "test", Subject = "local-user" };
        var token = await silo1.Client.GetAccessTokenAsync(request);
        Assert.True(await _server.IsActiveAsync(token.AccessToken_));

        var pid = int.Parse(File.ReadAllText(Path.Combine(_folder, "run", "silo-0.pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        using var load = new CancellationTokenSource(TimeSpan.FromSeconds(12));
        var calls = 0;
        var failures = new List<string>();
        var callers = Enumerable.Range(0, 4).Select(async _ =>
        {
            while (!load.IsCancellationRequested)
            {
                try
                {
                    var served = await silo1.Client.GetAccessTokenAsync(request);
                    TokenAssert.Same(token.AccessToken_, served.AccessToken_);
                    Interlocked.Increment(ref calls);
                }
                catch (Grpc.Core.RpcException ex)
                {
                    lock (failures) failures.Add(ex.StatusCode.ToString());
                }
            }
        }).ToList();
        await Task.Delay(1000);
        Process.GetProcessById(pid).Kill(); // SIGKILL: no goodbye to the cluster
        await Task.WhenAll(callers);

        Assert.True(calls > 100, $"{calls} calls served");
        Assert.Empty(failures);
        var stopped = await ScriptAsync("stop");
        Assert.Equal(0, stopped.ExitCode);
        Assert.Contains("stopped", stopped.Output, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(Path.Combine(_folder, "run"), "silo-*.pid"));
        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => probe.GetAsync($"http://127.0.0.1:{5381 + _offset}/health/live"));
    }

    /// <summary>
    /// <c>start 2</c>; when a server of the cluster could not bind its port (another process took it after FreePort
    /// handed it out), everything is stopped and started again in a new folder on new ports.
    /// </summary>
    private async Task<ProgramRun.Result> StartClusterAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            var started = await ScriptAsync("start", "2");
            if (started.ExitCode == 0 || attempt == FreePort.Attempts) return started;
            var logs = Directory.Exists(Path.Combine(_folder, "run"))
                ? Directory.GetFiles(Path.Combine(_folder, "run"), "*.log").Select(File.ReadAllText) : [];
            if (!FreePort.LostRace(started.Output + started.Errors + string.Join('\n', logs))) return started;
            await ScriptAsync("stop");
            Directory.Delete(_folder, recursive: true);
            _folder = $"/tmp/broker-local-test-{Guid.NewGuid():N}";
            _offset = Random.Shared.Next(20, 80);
            _environment["BROKER_LOCAL_DIR"] = _folder;
            _environment["BROKER_LOCAL_PG_PORT"] = FreePort.Next().ToString();
            _environment["BROKER_LOCAL_REDIS_PORT"] = FreePort.Next().ToString();
            _environment["BROKER_LOCAL_PORT_OFFSET"] = _offset.ToString();
        }
    }

    private Task<ProgramRun.Result> ScriptAsync(params string[] arguments) =>
        ProgramRun.RunAsync("bash", [Path.Combine(BuiltAssembly.RepositoryRoot(), "compose", "local-cluster.sh"), .. arguments], _environment);

    public async Task DisposeAsync()
    {
        await ScriptAsync("stop"); // idempotent: also after a failed assertion
        await _server.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }
}
