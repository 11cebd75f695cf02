using System.CommandLine;
using Broker.Ops.Cluster;
using Broker.Ops.Output;
using Npgsql;

namespace Broker.Ops.Commands;

/// <summary>
/// <c>events list | replay</c>: webhook deliveries given up after their retry period (dead letters), read from and put
/// back into the outbox in PostgreSQL. A replayed delivery gets one new attempt now; if that fails too, it is a dead letter again.
/// </summary>
public static class EventCommands
{
    private static readonly string[] Columns = ["event_id", "type", "provider", "caller", "attempts", "dead_since", "last_error"];

    public static Command Create(OpsContext ops)
    {
        var events = new Command("events", "Family events whose webhook delivery was dead-lettered: list, replay.");

        var limit = new Option<int>("--limit") { Description = "Dead letters to show.", DefaultValueFactory = _ => 100 };
        var list = new Command("list", "List dead-lettered webhook deliveries, oldest first.") { limit };
        list.SetAction((result, cancellationToken) => OpsContext.GuardAsync(async () =>
        {
            await using var database = NpgsqlDataSource.Create(OpsSettings.From(ops.Configuration).PostgreSql);
            await using var read = database.CreateCommand("""
                SELECT ev.id, ev.type, ev.provider, d.caller, d.attempts, d.finished_at, d.last_error
                FROM broker_event_deliveries d JOIN broker_events ev ON ev.sequence = d.sequence
                WHERE d.state = 'dead' ORDER BY d.sequence LIMIT @max
                """);
            read.Parameters.AddWithValue("max", Math.Clamp(result.GetValue(limit), 1, 10_000));
            var rows = new List<IReadOnlyList<object?>>();
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add([reader.GetGuid(0).ToString(), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt32(4),
                    reader.IsDBNull(5) ? null : new DateTimeOffset(reader.GetDateTime(5), TimeSpan.Zero).ToString("O"),
                    reader.IsDBNull(6) ? null : reader.GetString(6)]);
            }
            Report.Write(Console.Out, result.GetValue(ops.Json), Columns, rows);
            return ExitCodes.Ok;
        }));
        events.Subcommands.Add(list);

        var id = new Option<string?>("--id") { Description = "Only this event (its id); without it, every dead letter." };
        var replay = new Command("replay", "Send dead-lettered deliveries again (same webhook-id: receivers dedupe).") { id };
        replay.SetAction((result, cancellationToken) => OpsContext.GuardAsync(async () =>
        {
            Guid? only = null;
            if (result.GetValue(id) is { } text)
                only = Guid.TryParse(text, out var parsed) ? parsed : throw new OpsException("--id must be an event id (a UUID).", ExitCodes.Configuration);
            await using var database = NpgsqlDataSource.Create(OpsSettings.From(ops.Configuration).PostgreSql);
            await using var update = database.CreateCommand("""
                UPDATE broker_event_deliveries d SET state = 'pending', next_attempt_at = now(), finished_at = NULL
                FROM broker_events ev
                WHERE ev.sequence = d.sequence AND d.state = 'dead' AND (@id::uuid IS NULL OR ev.id = @id::uuid)
                """);
            update.Parameters.AddWithValue("id", (object?)only ?? DBNull.Value);
            var replayed = await update.ExecuteNonQueryAsync(cancellationToken);
            Report.Write(Console.Out, result.GetValue(ops.Json), ["replayed"], [[replayed]]);
            return only is not null && replayed == 0 ? ExitCodes.NotFound : ExitCodes.Ok;
        }));
        events.Subcommands.Add(replay);
        return events;
    }
}
