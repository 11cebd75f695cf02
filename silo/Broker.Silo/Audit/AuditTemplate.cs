using System.Buffers;
using System.Collections.Concurrent;

namespace Broker.Silo.Audit;

/// <summary>
/// A message template (<c>"Audit: {Caller} ... {Family}."</c>) read once: the text between its holes, with <c>{{</c> and
/// <c>}}</c> already made braces, and each hole's name without alignment or format. The writer rendered every event by
/// scanning its template again, the largest part of the audit writer's CPU on a busy silo.
/// </summary>
internal sealed class AuditTemplate
{
    // Templates are the logging methods' literals, so found by reference; bounded all the same, should a caller log
    // messages it builds (those are read anew each time once the bound is reached).
    private const int MaxTemplates = 256;
    private static readonly ConcurrentDictionary<string, AuditTemplate> Known = new(ReferenceEqualityComparer.Instance);

    private readonly string[] _texts; // one more than the holes: the text before each hole, then the rest
    private readonly string[] _holes;
    private readonly int[] _slots; // where each hole's value was last found in an event's values (a guess, checked)

    private AuditTemplate(string[] texts, string[] holes)
    {
        _texts = texts;
        _holes = holes;
        _slots = new int[holes.Length];
    }

    public static AuditTemplate Of(string template)
    {
        if (Known.TryGetValue(template, out var known)) return known;
        var parsed = Parse(template);
        if (Known.Count < MaxTemplates) Known.TryAdd(template, parsed);
        return parsed;
    }

    /// <summary>The message, each hole replaced by the text of its value in <paramref name="values"/>.</summary>
    public void Render(ArrayBufferWriter<char> message, ReadOnlySpan<KeyValuePair<string, object?>> values)
    {
        for (var i = 0; i < _holes.Length; i++)
        {
            message.Write(_texts[i]);
            message.Write(Text(ValueOf(i, values)));
        }
        message.Write(_texts[^1]);
    }

    /// <summary>A value as the message and the State show it.</summary>
    public static string Text(object? value) => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "(null)";

    private object? ValueOf(int hole, ReadOnlySpan<KeyValuePair<string, object?>> values)
    {
        var name = _holes[hole];
        var slot = _slots[hole];
        if ((uint)slot < (uint)values.Length && string.Equals(values[slot].Key, name, StringComparison.Ordinal)) return values[slot].Value;
        for (var i = 0; i < values.Length; i++)
        {
            if (!string.Equals(values[i].Key, name, StringComparison.Ordinal)) continue;
            _slots[hole] = i; // a race with another writer costs only a search
            return values[i].Value;
        }
        return null;
    }

    private static AuditTemplate Parse(string template)
    {
        var texts = new List<string>();
        var holes = new List<string>();
        var text = new System.Text.StringBuilder();
        var rest = template.AsSpan();
        while (rest.IndexOfAny('{', '}') is var at and >= 0)
        {
            text.Append(rest[..at]);
            if (at + 1 < rest.Length && rest[at + 1] == rest[at])
            {
                text.Append(rest[at]); // {{ or }}
                rest = rest[(at + 2)..];
            }
            else if (rest[at] == '{' && rest[at..].IndexOf('}') is var end and > 0)
            {
                var hole = rest.Slice(at + 1, end - 1);
                holes.Add(hole[..(hole.IndexOfAny(',', ':') is var cut and >= 0 ? cut : hole.Length)].ToString());
                texts.Add(text.ToString());
                text.Clear();
                rest = rest[(at + end + 1)..];
            }
            else
            {
                text.Append(rest[at]); // a brace that opens or closes nothing
                rest = rest[(at + 1)..];
            }
        }
        texts.Add(text.Append(rest).ToString());
        return new AuditTemplate([.. texts], [.. holes]);
    }
}
