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
            if (name != OriginalFormat) json.WriteString(AuditJson.Name(name), Text(value));
        }
        AuditJson.End(json);
    }

    // The writer's thread renders every event's message: into one buffer it keeps, not a new builder and string per
    // event (those were most of what a busy silo allocated per cache hit after the response itself).
    [ThreadStatic] private static ArrayBufferWriter<char>? _messageBuffer;

    /// <summary>The message template with each <c>{Name}</c> replaced by its value (<c>{{</c> and <c>}}</c> are braces).</summary>
    private ReadOnlySpan<char> Render(string template)
    {
        var message = _messageBuffer ??= new ArrayBufferWriter<char>(512);
        message.ResetWrittenCount();
        var rest = template.AsSpan();
        while (rest.IndexOfAny('{', '}') is var at and >= 0)
        {
            message.Write(rest[..at]);
            if (at + 1 < rest.Length && rest[at + 1] == rest[at])
            {
                message.Write(rest.Slice(at, 1));
                rest = rest[(at + 2)..];
            }
            else if (rest[at] == '{' && rest[at..].IndexOf('}') is var end and > 0)
            {
                var hole = rest.Slice(at + 1, end - 1);
                message.Write(Text(ValueOf(hole[..(hole.IndexOfAny(',', ':') is var cut and >= 0 ? cut : hole.Length)])));
                rest = rest[(at + end + 1)..];
            }
            else
            {
                message.Write(rest.Slice(at, 1));
                rest = rest[(at + 1)..];
            }
        }
        message.Write(rest);
        return message.WrittenSpan;
    }

    private object? ValueOf(ReadOnlySpan<char> name)
    {
        foreach (var (key, value) in _values)
        {
            if (name.SequenceEqual(key)) return value;
        }
        return null;
    }

    private static string Text(object? value) => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "(null)";
}
