using System.Collections.Concurrent;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Hosting;
using Broker.Testing.Processes;

namespace Broker.Bench.Soak;

/// <summary>
/// PostgreSQL, Redis with its append-only file, the test authorization server behind a proxy (so it can be made
/// unreachable without losing its grants) in a process of its own (<see cref="AuthorizationServerProcess"/>), and three silo slots run as separate processes in cluster mode. A
/// supervisor restarts a wanted silo whose process exited; a balancer sends calls only to silos whose last readiness
/// probe passed, as a load balancer in front of the cluster would.
/// </summary>
public sealed class SoakCluster : IAsyncDisposable
{
    public const string Provider = "soak";
    private readonly CancellationTokenSource _stop = new();
    private readonly HttpClient _probe = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly TextWriter _progress;
    private Task _watch = Task.CompletedTask;
    private int _next;

    private SoakCluster(PostgresServer postgres, RedisServer redis, AuthorizationServerProcess server,
        Dictionary<string, string?> settings, TextWriter progress)
    {
        Postgres = postgres;
        Redis = redis;
        Server = server;
        Settings = settings;
        _progress = progress;
    }

    public PostgresServer Postgres { get; }
    public RedisServer Redis { get; }
    /// <summary>
    /// The authorization server and the proxy every request of the silos passes (metadata, token, revocation), in their
    /// own process: the load generator's starvation is not the provider's. Stopping the proxy is the server going down
    /// (connections refused) without losing the grants it issued.
    /// </summary>
    public AuthorizationServerProcess Server { get; }

    /// <summary>The authorization server goes down (connections refused) for <paramref name="outage"/>, then comes back on the same port.</summary>
    public async Task StopAuthorizationServerAsync(TimeSpan outage)
    {
        await Server.DownAsync();
        await Task.Delay(outage);
        await Server.UpAsync();
    }

    /// <summary>Settings every silo starts with; key rotation changes them for the silos started after it.</summary>
    public Dictionary<string, string?> Settings { get; set; }

    public IReadOnlyList<SiloSlot> Slots { get; } = [new("silo-1"), new("silo-2"), new("silo-3")];

    /// <summary>Messages from the supervisor (unplanned exits), for the report's event column.</summary>
    public ConcurrentQueue<string> Notices { get; } = new();

    public static async Task<SoakCluster> StartAsync(SoakOptions options, TextWriter progress)
    {
        var postgres = await PostgresServer.StartAsync(pinnedPort: null);
        var redis = await RedisServer.StartOwnAsync(appendOnly: true);
        var server = await AuthorizationServerProcess.StartAsync(options);
        progress.WriteLine($"soak: authorization server in process {server.ProcessId}, its proxy at {server.Proxy}");
        var database = await postgres.CreateDatabaseAsync();
        await Broker.Silo.Storage.SchemaMigrator.MigrateAsync(database);
        var clusterId = $"soak{Guid.NewGuid():N}";
        var settings = ProviderSettings.Merge(
            new Dictionary<string, string?>
            {
                [$"Broker:Providers:{Provider}:Issuer"] = server.Issuer.AbsoluteUri,
                [$"Broker:Providers:{Provider}:ClientId"] = "broker",
                [$"Broker:Providers:{Provider}:ClientSecret"] = "broker-test-secret",
                [$"Broker:Providers:{Provider}:Scopes:0"] = "offline_access",
                [$"Broker:Providers:{Provider}:MetadataAddress"] = server.Endpoint(".well-known/openid-configuration").AbsoluteUri,
                [$"Broker:Providers:{Provider}:TokenEndpoint"] = server.Endpoint(TestAuthorizationServer.TokenPath).AbsoluteUri,
                [$"Broker:Providers:{Provider}:RevocationEndpoint"] = server.Endpoint(TestAuthorizationServer.RevocationPath).AbsoluteUri,
                [$"Broker:Providers:{Provider}:RefreshTokenReuseLeeway"] = options.ReuseLeeway.ToString(),
                // One caller drives every family here, so it may use the client's whole token-request budget.
                [$"Broker:Providers:{Provider}:CallerTokenRequestShare"] = "1",
                ["Broker:Families:ExpiryBuffer"] = options.ExpiryBuffer.ToString(),
                ["Broker:Mode"] = "Cluster",
                ["Broker:Cluster:ClusterId"] = clusterId,
                ["Broker:Cluster:ServiceId"] = clusterId,
                ["Broker:Cluster:Redis"] = redis.Configuration,
                ["Broker:Cluster:PostgreSql"] = database,
                ["Broker:Encryption:Keys:0:Id"] = "k1",
                ["Broker:Encryption:Keys:0:Key"] = BrokerSiloSettings.NewEncryptionKey(),
            });
        return new SoakCluster(postgres, redis, server, settings, progress);
    }

    /// <summary>Starts the supervisor and balancer loop.</summary>
    public void Watch() => _watch = Task.Run(WatchAsync);

    public async Task StartSiloAsync(SiloSlot slot)
    {
        await slot.Changing.WaitAsync();
        try
        {
            slot.Wanted = true;
            await LaunchAsync(slot);
        }
        finally
        {
            slot.Changing.Release();
        }
    }

    /// <summary>SIGTERM after the balancer stopped sending it calls, as a rolling deployment or a scale-down does.</summary>
    public async Task StopSiloAsync(SiloSlot slot)
    {
        await slot.Changing.WaitAsync();
        try
        {
            slot.Wanted = false;
            slot.Routable = false;
            await Task.Delay(TimeSpan.FromSeconds(2)); // calls already sent to it finish
            if (slot.Process is { } process)
            {
                try
                {
                    await process.StopGracefullyAsync(TimeSpan.FromSeconds(60));
                }
                catch (OperationCanceledException)
                {
                    Notices.Enqueue($"{slot.Name} did not stop within 60 s of SIGTERM: killed");
                }
                await process.DisposeAsync();
                slot.Process = null;
            }
        }
        finally
        {
            slot.Changing.Release();
        }
    }

    /// <summary>SIGKILL with no warning: the balancer keeps sending it calls until its next probe fails.</summary>
    public async Task KillSiloAsync(SiloSlot slot)
    {
        await slot.Changing.WaitAsync();
        try
        {
            slot.Wanted = false;
            slot.Process?.Kill();
        }
        finally
        {
            slot.Changing.Release();
        }
    }

    public async Task RestartSiloAsync(SiloSlot slot)
    {
        await StopSiloAsync(slot);
        await StartSiloAsync(slot);
    }

    /// <summary>A routable silo, round robin; null when none is.</summary>
    public SiloSlot? Pick()
    {
        for (var tries = 0; tries < Slots.Count; tries++)
        {
            var slot = Slots[(int)((uint)Interlocked.Increment(ref _next) % Slots.Count)];
            if (slot.Routable) return slot;
        }
        return null;
    }

    private async Task LaunchAsync(SiloSlot slot)
    {
        if (slot.Process is { } old) await old.DisposeAsync();
        slot.Process = null;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                slot.Process = await SiloProcess.StartAsync(Settings);
                break;
            }
            catch (Exception ex) when (ex is InvalidOperationException or TimeoutException && attempt < 5 && !_stop.IsCancellationRequested)
            {
                // A silo may not start while a dependency is down (its start needs PostgreSQL, Redis and the provider's metadata).
                Notices.Enqueue($"{slot.Name} start attempt {attempt} failed: {ex.Message}");
                await Task.Delay(TimeSpan.FromSeconds(5));
            }
        }
        Interlocked.Increment(ref slot.Starts);
        await Server.AddRedirectUriAsync(slot.Process.RedirectUri(Provider));
        slot.Routable = true;
    }

    private async Task WatchAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            foreach (var slot in Slots)
            {
                var process = slot.Process;
                if (process is null || process.HasExited)
                {
                    slot.Routable = false;
                    if (slot.Wanted && process is not null && slot.Changing.Wait(0))
                    {
                        // Exited on its own (e.g. it found itself out of the cluster): its supervisor starts it again.
                        try
                        {
                            if (slot.Wanted && slot.Process == process)
                            {
                                Interlocked.Increment(ref slot.UnplannedExits);
                                Notices.Enqueue($"{slot.Name} exited unplanned (see {process.LogPath}); restarted");
                                _progress.WriteLine($"soak: {slot.Name} exited unplanned; restarting");
                                await LaunchAsync(slot);
                            }
                        }
                        catch (Exception ex)
                        {
                            Notices.Enqueue($"{slot.Name} restart failed: {ex.Message}");
                        }
                        finally
                        {
                            slot.Changing.Release();
                        }
                    }
                    continue;
                }
                // As a load balancer's health check: out of the rotation after two failed probes, back after one good one.
                if (!slot.Wanted) slot.Routable = false;
                else if (await ReadyAsync(process)) (slot.Routable, slot.FailedProbes) = (true, 0);
                else if (++slot.FailedProbes >= 2) slot.Routable = false;
            }
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), _stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private async Task<bool> ReadyAsync(SiloProcess process)
    {
        try
        {
            using var ready = await _probe.GetAsync($"http://127.0.0.1:{process.HttpPort}/health/ready");
            return ready.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _watch;
        foreach (var slot in Slots)
        {
            if (slot.Process is { } process) await process.DisposeAsync();
        }
        _probe.Dispose();
        await Server.DisposeAsync();
        await Redis.DisposeAsync();
        await Postgres.DisposeAsync();
    }
}
