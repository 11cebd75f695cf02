using Broker.Abstractions.Events;
using Npgsql;

namespace Broker.Silo.Events;

/// <summary>A delivery claimed by this silo: the event, its receiver and how many attempts it has had (this one included).</summary>
public sealed record ClaimedDelivery(StoredEvent Stored, string Caller, int Attempts);

/// <summary>
/// The delivery rows: claimed with a lease (FOR UPDATE SKIP LOCKED, so silos share the work), in order per caller and
/// family (a later event waits while an earlier one is pending), finished only by the lease's holder.
/// </summary>
public sealed class WebhookDeliveries(NpgsqlDataSource database)
{
    private static readonly string EventColumns =
        string.Join(", ", PostgreSqlEventOutbox.EventColumns.Split(", ").Select(c => "ev." + c));

    public async Task<IReadOnlyList<ClaimedDelivery>> ClaimAsync(string owner, DateTimeOffset now, TimeSpan lease, int batch, CancellationToken cancellationToken)
    {
        await using var claim = database.CreateCommand($"""
            WITH due AS (
                SELECT d.sequence, d.caller FROM broker_event_deliveries d
                WHERE d.state = 'pending' AND d.next_attempt_at <= @now AND (d.lease_until IS NULL OR d.lease_until <= @now)
                  AND NOT EXISTS (SELECT 1 FROM broker_event_deliveries e
                                  WHERE e.caller = d.caller AND e.family = d.family AND e.state = 'pending' AND e.sequence < d.sequence)
                ORDER BY d.sequence
                LIMIT @batch
                FOR UPDATE OF d SKIP LOCKED)
            UPDATE broker_event_deliveries d
               SET lease_owner = @owner, lease_until = @until, attempts = d.attempts + 1
              FROM due, broker_events ev
             WHERE d.sequence = due.sequence AND d.caller = due.caller AND ev.sequence = d.sequence
            RETURNING {EventColumns}, d.caller, d.attempts
            """);
        claim.Parameters.AddWithValue("now", now.UtcDateTime);
        claim.Parameters.AddWithValue("until", (now + lease).UtcDateTime);
        claim.Parameters.AddWithValue("owner", owner);
        claim.Parameters.AddWithValue("batch", batch);
        var claimed = new List<ClaimedDelivery>();
        await using var reader = await claim.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            claimed.Add(new ClaimedDelivery(PostgreSqlEventOutbox.Read(reader, 0), reader.GetString(11), reader.GetInt32(12)));
        return claimed;
    }

    public Task DeliveredAsync(ClaimedDelivery delivery, string owner, DateTimeOffset now, CancellationToken cancellationToken) =>
        FinishAsync(delivery, owner, "state = 'delivered', finished_at = @now", now, null, null, cancellationToken);

    /// <summary>Schedules the next attempt, or dead-letters the delivery when <paramref name="next"/> is null.</summary>
    public Task FailedAsync(ClaimedDelivery delivery, string owner, DateTimeOffset now, DateTimeOffset? next, string error, CancellationToken cancellationToken) =>
        next is { } at
            ? FinishAsync(delivery, owner, "next_attempt_at = @next, last_error = @error", now, at, error, cancellationToken)
            : FinishAsync(delivery, owner, "state = 'dead', finished_at = @now, last_error = @error", now, null, error, cancellationToken);

    private async Task FinishAsync(ClaimedDelivery delivery, string owner, string set, DateTimeOffset now, DateTimeOffset? next, string? error,
        CancellationToken cancellationToken)
    {
        // Only the lease's holder finishes it: a silo that lost its lease (paused, partitioned) changes nothing.
        await using var finish = database.CreateCommand($"""
            UPDATE broker_event_deliveries SET {set}, lease_owner = NULL, lease_until = NULL
            WHERE sequence = @sequence AND caller = @caller AND lease_owner = @owner AND state = 'pending'
            """);
        finish.Parameters.AddWithValue("sequence", delivery.Stored.Sequence);
        finish.Parameters.AddWithValue("caller", delivery.Caller);
        finish.Parameters.AddWithValue("owner", owner);
        finish.Parameters.AddWithValue("now", now.UtcDateTime);
        finish.Parameters.AddWithValue("next", (object?)next?.UtcDateTime ?? DBNull.Value);
        finish.Parameters.AddWithValue("error", (object?)error ?? DBNull.Value);
        await finish.ExecuteNonQueryAsync(cancellationToken);
    }
}
