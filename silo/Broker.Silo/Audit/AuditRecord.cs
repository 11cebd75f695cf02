using System.Buffers;
using System.Collections;
using System.Text.Json;

namespace Broker.Silo.Audit;

/// <summary>
/// One audit event: its kind, when, and its values in the order of its template's names. The writer renders it as a
/// JSON line on its own thread; to the logging providers it is the event's state, the values by name and then
/// <c>{OriginalFormat}</c>, as the logging generator's state would be.
/// </summary>
/// <remarks>
/// Built by <see cref="AuditLog"/> and handed to the writer directly, not through a logging provider: the logging
/// framework's dispatch to every provider and the copy of its state off the call were two thirds of what an audit
/// event cost a cache hit's request thread.
/// </remarks>
public sealed class AuditRecord : IReadOnlyList<KeyValuePair<string, object?>>
{
    private const string OriginalFormat = "{OriginalFormat}";

    private readonly string[] _values;

    public AuditRecord(DateTimeOffset timestamp, AuditEventKind kind, params ReadOnlySpan<string> values)
    {
        if (values.Length != kind.Parsed.Names.Length)
            throw new ArgumentException($"event {kind.EventId.Id} takes {kind.Parsed.Names.Length} values, not {values.Length}.", nameof(values));
        Timestamp = timestamp;
        Kind = kind;
        _values = values.ToArray();
    }

    public DateTimeOffset Timestamp { get; }
    public AuditEventKind Kind { get; }

    public int Count => _values.Length + 1;

    public KeyValuePair<string, object?> this[int index] => index == _values.Length
        ? new(OriginalFormat, Kind.Template)
        : new(Kind.Parsed.Names[index], _values[index]);

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        for (var i = 0; i < Count; i++) yield return this[i];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The message, for the logging providers.</summary>
    public override string ToString() => new(Render());

    public void Write(Utf8JsonWriter json)
    {
        AuditJson.Begin(json, Timestamp, Kind.EventId.Id, Kind.Level, Render());
        var names = Kind.Parsed.EncodedNames;
        for (var i = 0; i < _values.Length; i++) json.WriteString(names[i], _values[i]);
        AuditJson.End(json);
    }

    // The writer's thread renders every event's message: into one buffer per thread, not a new builder and string per
    // event (those were most of what a busy silo allocated per cache hit after the response itself).
    [ThreadStatic] private static ArrayBufferWriter<char>? _messageBuffer;

    private ReadOnlySpan<char> Render()
    {
        var message = _messageBuffer ??= new ArrayBufferWriter<char>(512);
        message.ResetWrittenCount();
        Kind.Parsed.Render(message, _values);
        return message.WrittenSpan;
    }
}
