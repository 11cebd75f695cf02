using System.Buffers;
using System.Text.Json;

namespace Broker.Silo.Audit;

/// <summary>
/// One audit event, copied off the logging call: the state a logger receives may be reused once the call returns (the
/// extended logging generator of Microsoft.Extensions.Telemetry, which the resilience packages bring, passes a
/// thread-local state object), so its values are copied here and the message is rendered later, on the writer's thread.
/// </summary>
public sealed class AuditRecord
{
    private const string OriginalFormat = "{OriginalFormat}";

    private readonly KeyValuePair<string, object?>[] _values;
    private readonly string? _template;
    private readonly string? _message;

    private AuditRecord(DateTimeOffset timestamp, int eventId, LogLevel level, KeyValuePair<string, object?>[] values, string? template, string? message)
    {
        Timestamp = timestamp;
        EventId = eventId;
        Level = level;
        _values = values;
        _template = template;
        _message = message;
    }

    public DateTimeOffset Timestamp { get; }
    public int EventId { get; }
    public LogLevel Level { get; }

    public static AuditRecord Of<TState>(DateTimeOffset timestamp, int eventId, LogLevel level, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (state is not IReadOnlyList<KeyValuePair<string, object?>> list)
            return new AuditRecord(timestamp, eventId, level, [], null, formatter(state, exception));
        var values = new KeyValuePair<string, object?>[list.Count];
        string? template = null;
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = list[i];
            if (values[i].Key == OriginalFormat) template = values[i].Value as string;
        }
        // Without its template the message cannot be rendered later: render it now.
        return new AuditRecord(timestamp, eventId, level, values, template, template is null ? formatter(state, exception) : null);
    }

    public void Write(Utf8JsonWriter json)
    {
        AuditJson.Begin(json, Timestamp, EventId, Level, _message is null ? Render(_template!) : _message);
        foreach (var (name, value) in _values)
        {
            if (name != OriginalFormat) json.WriteString(AuditJson.Name(name), AuditTemplate.Text(value));
        }
        AuditJson.End(json);
    }

    // The writer's thread renders every event's message: into one buffer it keeps, not a new builder and string per
    // event (those were most of what a busy silo allocated per cache hit after the response itself).
    [ThreadStatic] private static ArrayBufferWriter<char>? _messageBuffer;

    private ReadOnlySpan<char> Render(string template)
    {
        var message = _messageBuffer ??= new ArrayBufferWriter<char>(512);
        message.ResetWrittenCount();
        AuditTemplate.Of(template).Render(message, _values);
        return message.WrittenSpan;
    }
}
