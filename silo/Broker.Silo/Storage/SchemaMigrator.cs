using System.Reflection;
using Npgsql;

namespace Broker.Silo.Storage;


/// <summary>The database schema is missing or older than this build.</summary>
public sealed class SchemaMissingException(string message) : Exception(message);

/// <summary>
/// Applies the embedded SQL scripts (Storage/Schema/NNN_*.sql) in order, each in its own transaction, and
/// records them in <c>broker_schema_migrations</c>. Every script is itself idempotent, so a run interrupted
/// between a script and its record is simply repeated.
/// </summary>
public static class SchemaMigrator
{
    private const string Ledger = """
        CREATE TABLE IF NOT EXISTS broker_schema_migrations (
            name        text        PRIMARY KEY,
            applied_at  timestamptz NOT NULL DEFAULT now()
        )
        """;

    public static IReadOnlyList<(string Name, string Sql)> Scripts { get; } = LoadScripts();

    /// <summary>Applies what is missing; returns the names it applied.</summary>
    public static async Task<IReadOnlyList<string>> MigrateAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
        }
        catch (NpgsqlException ex) when (ex is not PostgresException)
        {
            throw DependencyUnreachableException.PostgreSql(connectionString, ex);
        }
        await using (var create = new NpgsqlCommand(Ledger, connection))
            await create.ExecuteNonQueryAsync(cancellationToken);

        var applied = new List<string>();
        foreach (var (name, sql) in Scripts)
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using (var run = new NpgsqlCommand(sql, connection, transaction))
                await run.ExecuteNonQueryAsync(cancellationToken);
            await using (var record = new NpgsqlCommand(
                "INSERT INTO broker_schema_migrations (name) VALUES (@name) ON CONFLICT (name) DO NOTHING", connection, transaction))
            {
                record.Parameters.AddWithValue("name", name);
                if (await record.ExecuteNonQueryAsync(cancellationToken) == 1) applied.Add(name);
            }
            await transaction.CommitAsync(cancellationToken);
        }
        return applied;
    }

    /// <summary>Throws <see cref="SchemaMissingException"/> unless every script of this build has been applied.</summary>
    public static async Task EnsureCurrentAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        var hint = "run 'Broker.Silo migrate' (from source: dotnet run --project silo/Broker.Silo -- migrate) with the same Broker:Cluster:PostgreSql.";
        HashSet<string> applied;
        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync(cancellationToken);
            await using var query = new NpgsqlCommand(
                "SELECT name FROM broker_schema_migrations", connection);
            await using var reader = await query.ExecuteReaderAsync(cancellationToken);
            applied = [];
            while (await reader.ReadAsync(cancellationToken)) applied.Add(reader.GetString(0));
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            throw new SchemaMissingException($"the database has no Broker schema; {hint}");
        }
        catch (NpgsqlException ex) when (ex is not PostgresException)
        {
            throw DependencyUnreachableException.PostgreSql(connectionString, ex);
        }
        var missing = Scripts.Select(s => s.Name).Where(n => !applied.Contains(n)).ToList();
        if (missing.Count > 0)
            throw new SchemaMissingException($"the database schema lacks {string.Join(", ", missing)}; {hint}");
    }

    private static IReadOnlyList<(string, string)> LoadScripts()
    {
        var assembly = typeof(SchemaMigrator).Assembly;
        const string prefix = "Broker.Schema.";
        return assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .OrderBy(n => n, StringComparer.Ordinal)
            .Select(n =>
            {
                using var stream = assembly.GetManifestResourceStream(n)!;
                using var reader = new StreamReader(stream);
                return (n[prefix.Length..^4], reader.ReadToEnd());
            })
            .ToList();
    }
}
