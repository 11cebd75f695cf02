using System.Text.Json;

namespace Broker.Silo.Audit;

/// <summary>
/// The audit line's shape, that of the JSON console formatter: Timestamp, EventId, LogLevel, Category, Message, then
/// the event's values under State. The fixed names and values are encoded once here, not escaped again for every event.
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

    /// <summary>Writes the envelope and opens State: write the values, then <see cref="End"/>.</summary>
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
}
