using Broker.Testing.Hosting;
using Broker.Testing.Processes;

namespace Broker.Bench.Soak;

/// <summary>
/// What happens to the cluster in a month, compressed into the run: each step at a fixed share of the duration,
/// the last fifth left quiet so the memory figures show the cluster at rest under load.
/// </summary>
public sealed class SoakSchedule(SoakCluster cluster, SoakOptions options, TextWriter progress)
{
    public sealed record Step(double At, string Name, Func<Task<string>> Run);

    public sealed record Happened(TimeSpan At, TimeSpan Took, string Name, string Outcome);

    public List<Happened> Log { get; } = [];

    /// <summary>Steps as they start, for the report row they start in (a step can outlast its row).</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Started { get; } = new();

    public IReadOnlyList<Step> Steps => [
        new(0.05, "scale 2 -> 3", async () => { await cluster.StartSiloAsync(cluster.Slots[2]); return "silo-3 started"; }),
        new(0.12, "encryption key rotation: new primary key, rolling restart, broker-ops keys reencrypt", RotateKeyAsync),
        new(0.25, "SIGKILL silo-2, restarted after 10 s", async () =>
        {
            await cluster.KillSiloAsync(cluster.Slots[1]);
            await Task.Delay(TimeSpan.FromSeconds(10));
            await cluster.StartSiloAsync(cluster.Slots[1]);
            return "silo-2 back";
        }),
        new(0.38, $"authorization server down for {options.Outage.TotalSeconds:F0} s (connections refused)", async () =>
        {
            await cluster.StopAuthorizationServerAsync(options.Outage);
            return "up again";
        }),
        new(0.52, $"PostgreSQL restart (immediate stop, {options.Downtime.TotalSeconds:F0} s down)", async () =>
        {
            await cluster.Postgres.StopAsync();
            await Task.Delay(options.Downtime);
            await cluster.Postgres.StartAgainAsync();
            return "PostgreSQL up";
        }),
        new(0.66, $"Redis restart (SIGTERM, append-only file kept, {options.Downtime.TotalSeconds:F0} s down)", async () =>
        {
            await cluster.Redis.RestartAsync(options.Downtime);
            return "Redis up";
        }),
        new(0.80, "scale 3 -> 2", async () => { await cluster.StopSiloAsync(cluster.Slots[2]); return "silo-3 stopped"; }),
    ];

    public async Task RunAsync(DateTime start, CancellationToken stop)
    {
        foreach (var step in Steps)
        {
            var due = start + options.Duration * step.At - DateTime.UtcNow;
            if (due > TimeSpan.Zero) await Task.Delay(due, stop);
            var began = DateTime.UtcNow;
            progress.WriteLine($"soak: {began - start:mm\\:ss} {step.Name} ...");
            Started.Enqueue(step.Name);
            string outcome;
            try
            {
                outcome = await step.Run();
            }
            catch (Exception ex)
            {
                outcome = $"FAILED: {ex.GetType().Name}: {ex.Message}";
            }
            var happened = new Happened(began - start, DateTime.UtcNow - began, step.Name, outcome);
            lock (Log) Log.Add(happened);
            progress.WriteLine($"soak: {DateTime.UtcNow - start:mm\\:ss} {step.Name}: {outcome} ({happened.Took.TotalSeconds:F0} s)");
        }
    }

    private async Task<string> RotateKeyAsync()
    {
        cluster.Settings = ProviderSettings.Merge(cluster.Settings, new()
        {
            ["Broker:Encryption:Keys:1:Id"] = "k2",
            ["Broker:Encryption:Keys:1:Key"] = BrokerSiloSettings.NewEncryptionKey(),
            ["Broker:Encryption:PrimaryKeyId"] = "k2",
        });
        foreach (var slot in cluster.Slots.Where(s => s.Wanted)) await cluster.RestartSiloAsync(slot);
        var run = await OpsTool.RunAsync(cluster.Settings, "keys", "reencrypt", "--json");
        if (run.ExitCode != 0) return $"FAILED: broker-ops keys reencrypt exited {run.ExitCode}: {run.Errors.Trim()}";
        var counts = run.Json.GetProperty("rows").EnumerateArray()
            .Select(r => $"{r.GetProperty("state").GetString()} {r.GetProperty("outcome").GetString()}: {r.GetProperty("count").GetInt32()}");
        return "reencrypt: " + string.Join(", ", counts);
    }
}
