using Npgsql;

namespace Broker.Ops.Storage;

/// <summary>
/// Which grains have stored state: read-only, by state name, from the Orleans storage table. Orleans offers no
/// enumeration of persisted grains, and the state itself is encrypted and only the grains read it.
/// </summary>
public sealed class StoredGrains(string connectionString, string serviceId)
{
    public const string Families = "family";
    public const string ClientTokens = "client-token";

    /// <summary>Grain keys after <paramref name="after"/> in key order, at most <paramref name="limit"/>.</summary>
    public async Task<IReadOnlyList<string>> PageAsync(string stateName, string? after, int limit, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            """
            SELECT grainidextensionstring FROM orleansstorage
             WHERE serviceid = @service AND graintypestring = @state AND payloadbinary IS NOT NULL
               AND grainidextensionstring COLLATE "C" > @after
             ORDER BY grainidextensionstring COLLATE "C"
             LIMIT @limit
            """, connection);
        command.Parameters.AddWithValue("service", serviceId);
        command.Parameters.AddWithValue("state", stateName);
        command.Parameters.AddWithValue("after", after ?? "");
        command.Parameters.AddWithValue("limit", limit);
        var keys = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) keys.Add(reader.GetString(0));
        return keys;
    }

    public async Task<long> CountAsync(string stateName, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FROM orleansstorage WHERE serviceid = @service AND graintypestring = @state AND payloadbinary IS NOT NULL", connection);
        command.Parameters.AddWithValue("service", serviceId);
        command.Parameters.AddWithValue("state", stateName);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Every key of a state name, page by page.</summary>
    public async IAsyncEnumerable<string> AllAsync(string stateName, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? after = null;
        while (true)
        {
            var page = await PageAsync(stateName, after, 500, cancellationToken);
            foreach (var key in page) yield return key;
            if (page.Count < 500) yield break;
            after = page[^1];
        }
    }
}
