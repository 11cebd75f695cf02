using System.Collections.Concurrent;
using System.Text.Json;

namespace Broker.Silo.Audit;

/// <summary>
/// The audit line's shape, that of the JSON console formatter: Timestamp, EventId, LogLevel, Category, Message, then
/// the event's values under State. Names and fixed values are encoded once here, not escaped again for every event.
/// </summary>
internal static class AuditJson
{
    private static readonly JsonEncodedText Timestamp = JsonEncodedText.Encode("Timestamp");
    private static readonly JsonEncodedText EventId = JsonEncodedText.Encode("EventId");
    private static readonly JsonEncodedText LogLevelName = JsonEncodedText.Encode("LogLevel");
    private static readonly JsonEncodedText Category = JsonEncodedText.Encode("Category");
    private static readonly JsonEncodedText CategoryValue = JsonEncodedText.Encode(AuditLog.Category);
    private static readonly JsonEncodedText Message = JsonEncodedText.Encode("Message");
    private static readonly JsonEncodedText State = JsonEncodedText.Encode("State");
    private static readonly JsonEncodedText[] Levels =
        [.. Enum.GetValues<LogLevel>().OrderBy(l => (int)l).Select(l => JsonEncodedText.Encode(l.ToString()))];

    // The State names are the audit messages' placeholders: a handful of the logging methods' literals, so found by
    // reference (no hash of the text per value). Bounded all the same, should a caller log names it builds.
    private const int MaxNames = 256;
    private static readonly ConcurrentDictionary<string, JsonEncodedText> Names = new(ReferenceEqualityComparer.Instance);

    /// <summary>Writes the envelope and opens State: write the values with <see cref="Name"/>, then <see cref="End"/>.</summary>
    public static void Begin(Utf8JsonWriter json, DateTimeOffset timestamp, int eventId, LogLevel level, ReadOnlySpan<char> message)
    {
        json.WriteStartObject();
        json.WriteString(Timestamp, timestamp);
        json.WriteNumber(EventId, eventId);
        json.WriteString(LogLevelName, (uint)level < (uint)Levels.Length ? Levels[(int)level] : JsonEncodedText.Encode(level.ToString()));
        json.WriteString(Category, CategoryValue);
        json.WriteString(Message, message);
        json.WriteStartObject(State);
    }

    public static void End(Utf8JsonWriter json)
    {
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>A State property's name, encoded.</summary>
    public static JsonEncodedText Name(string name)
    {
        if (Names.TryGetValue(name, out var encoded)) return encoded;
        encoded = JsonEncodedText.Encode(name);
        if (Names.Count < MaxNames) Names.TryAdd(name, encoded);
        return encoded;
    }
}
