using System.CommandLine;
using Broker.Abstractions.Grains;
using Broker.Ops.Cluster;
using Broker.Ops.Output;
using Broker.Ops.Storage;

namespace Broker.Ops.Commands;

/// <summary>
/// <c>keys reencrypt</c>: after a new primary key is deployed to every silo, each stored family and client
/// token is re-sealed under it by its own grain (so the refresh ordering is respected); then old keys can go.
/// </summary>
public static class KeyCommands
{
    public static Command Create(OpsContext ops)
    {
        var keys = new Command("keys", "Encryption keys.");
        var parallelism = new Option<int>("--parallel") { Description = "Grains re-encrypted at once.", DefaultValueFactory = _ => 8 };
        var reencrypt = new Command("reencrypt", "Re-encrypt every stored family and client token under the primary key.") { parallelism };
        reencrypt.SetAction((result, cancellationToken) => ops.RunAsync(result, async (connection, storage, json) =>
        {
            var counts = new Dictionary<string, Dictionary<ReencryptionOutcome, int>>();
            var failed = 0;
            foreach (var state in new[] { StoredGrains.Families, StoredGrains.ClientTokens })
            {
                var total = await storage.CountAsync(state, cancellationToken);
                var byOutcome = Enum.GetValues<ReencryptionOutcome>().ToDictionary(o => o, _ => 0);
                counts[state] = byOutcome;
                var done = 0;
                await Parallel.ForEachAsync(storage.AllAsync(state, cancellationToken),
                    new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, result.GetValue(parallelism)), CancellationToken = cancellationToken },
                    async (key, _) =>
                    {
                        try
                        {
                            var outcome = state == StoredGrains.Families
                                ? await connection.Grains.GetGrain<ITokenFamilyGrain>(key).Reencrypt()
                                : await connection.Grains.GetGrain<IClientTokenGrain>(key).Reencrypt();
                            lock (byOutcome) byOutcome[outcome]++;
                        }
                        catch (Exception ex) when (ex is not OperationCanceledException)
                        {
                            Interlocked.Increment(ref failed);
                            Console.Error.WriteLine($"{state}: one grain failed: {ex.GetType().Name}");
                        }
                        var n = Interlocked.Increment(ref done);
                        if (n % 100 == 0 || n == total) Console.Error.WriteLine($"{state}: {n}/{total}");
                    });
            }
            var rows = counts.SelectMany(c => c.Value.Select(o => (IReadOnlyList<object?>)[c.Key, o.Key.ToString().ToLowerInvariant(), o.Value])).ToList();
            Report.Write(Console.Out, json, ["state", "outcome", "count"], rows, new { failed });
            var unreadable = counts.Values.Sum(c => c[ReencryptionOutcome.Unreadable]);
            if (unreadable > 0) Console.Error.WriteLine($"{unreadable} record(s) could not be decrypted and were marked; see the silo logs (event 2101).");
            return failed + unreadable == 0 ? ExitCodes.Ok : ExitCodes.Failed;
        }));
        keys.Subcommands.Add(reencrypt);
        return keys;
    }
}
