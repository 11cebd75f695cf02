using Broker.Abstractions.Events;
using Broker.Abstractions.Identity;
using Broker.Silo.Callers;
using Npgsql;
using NpgsqlTypes;

namespace Broker.Silo.Events;

/// <summary>
/// The cluster's outbox: events and, in the same transaction, one delivery per caller whose webhook and policy cover the
/// family. Appends are serialized by a transaction lock so that sequences commit in order and a WatchEvents reader that
/// has passed a cursor never finds an earlier event committed after it.
/// </summary>
public sealed class PostgreSqlEventOutbox(NpgsqlDataSource database, CallerRegistry callers, TimeProvider time) : IEventOutbox
{
    private const string Columns = "sequence, id, type, occurred_at, provider, subject, owner, reason, status, scopes, suppressed";

    public async Task AppendAsync(IReadOnlyList<BrokerEvent> events, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var serialize = new NpgsqlCommand("SELECT pg_advisory_xact_lock(4215061015)", connection, transaction))
            await serialize.ExecuteNonQueryAsync(cancellationToken);
        foreach (var e in events)
        {
            await using var insert = new NpgsqlCommand("""
                INSERT INTO broker_events (id, type, occurred_at, provider, subject, owner, reason, status, scopes, suppressed)
                VALUES (@id, @type, @time, @provider, @subject, @owner, @reason, @status, @scopes, @suppressed)
                ON CONFLICT (id) DO NOTHING
                RETURNING sequence
                """, connection, transaction);
            insert.Parameters.AddWithValue("id", e.Id);
            insert.Parameters.AddWithValue("type", BrokerEventNames.Of(e.Type));
            insert.Parameters.AddWithValue("time", e.Time.UtcDateTime);
            insert.Parameters.AddWithValue("provider", e.Provider);
            insert.Parameters.AddWithValue("subject", (object?)e.Subject ?? DBNull.Value);
            insert.Parameters.AddWithValue("owner", (object?)e.Owner ?? DBNull.Value);
            insert.Parameters.AddWithValue("reason", (object?)e.Reason ?? DBNull.Value);
            insert.Parameters.AddWithValue("status", e.Status);
            insert.Parameters.Add(new NpgsqlParameter("scopes", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = e.Scopes.Values.ToArray() });
            insert.Parameters.AddWithValue("suppressed", e.Suppressed);
            if (await insert.ExecuteScalarAsync(cancellationToken) is not long sequence) continue; // stored before (a retried append)
            foreach (var caller in callers.WithWebhooks().Where(c => c.Covers(e)))
            {
                await using var delivery = new NpgsqlCommand("""
                    INSERT INTO broker_event_deliveries (sequence, caller, family, next_attempt_at)
                    VALUES (@sequence, @caller, @family, @now)
                    """, connection, transaction);
                delivery.Parameters.AddWithValue("sequence", sequence);
                delivery.Parameters.AddWithValue("caller", caller.Name);
                delivery.Parameters.AddWithValue("family", FamilyOf(e));
                delivery.Parameters.AddWithValue("now", time.GetUtcNow().UtcDateTime);
                await delivery.ExecuteNonQueryAsync(cancellationToken);
            }
        }
        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<StoredEvent>> ReadAfterAsync(long cursor, int max, CancellationToken cancellationToken = default)
    {
        await using var read = database.CreateCommand($"SELECT {Columns} FROM broker_events WHERE sequence > @cursor ORDER BY sequence LIMIT @max");
        read.Parameters.AddWithValue("cursor", cursor);
        read.Parameters.AddWithValue("max", max);
        return await ReadEventsAsync(read, cancellationToken);
    }

    /// <summary>Deliveries of one family go out in order: the key they share.</summary>
    public static string FamilyOf(BrokerEvent e) => e.Subject is null ? e.Provider : new FamilyKey(ProviderName.Parse(e.Provider), Subject.Parse(e.Subject)).ToGrainKey();

    internal static async Task<IReadOnlyList<StoredEvent>> ReadEventsAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var found = new List<StoredEvent>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) found.Add(Read(reader, 0));
        return found;
    }

    /// <summary>An event from its row, starting at column <paramref name="at"/> (the order of <see cref="Columns"/>).</summary>
    internal static StoredEvent Read(NpgsqlDataReader reader, int at)
    {
        var type = BrokerEventNames.Parse(reader.GetString(at + 2)) ?? throw new InvalidOperationException("unknown event type in the outbox.");
        string? Text(int i) => reader.IsDBNull(at + i) ? null : reader.GetString(at + i);
        var e = new BrokerEvent(reader.GetGuid(at + 1), type, new DateTimeOffset(reader.GetDateTime(at + 3), TimeSpan.Zero), reader.GetString(at + 4),
            Text(5), Text(6), Text(7), reader.GetString(at + 8), ScopeSet.Parse(reader.GetFieldValue<string[]>(at + 9)), reader.GetInt32(at + 10));
        return new StoredEvent(reader.GetInt64(at), e);
    }

    internal const string EventColumns = Columns;
}
