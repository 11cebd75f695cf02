using System.Buffers;
using System.Text.Json;

namespace Broker.Silo.Audit;

/// <summary>
/// A message template (<c>"Audit: {Caller} ... {Family}."</c>) read once: the text between its holes, with <c>{{</c> and
/// <c>}}</c> already made braces, and for each hole which of the template's names it shows (a name without alignment or
/// format; one named twice shows one value twice). The names, JSON-encoded once, are the State's property names.
/// </summary>
internal sealed class AuditTemplate
{
    private readonly string[] _texts; // one more than the holes: the text before each hole, then the rest
    private readonly int[] _holes; // each hole's index into Names

    private AuditTemplate(string[] texts, int[] holes, string[] names)
    {
        _texts = texts;
        _holes = holes;
        Names = names;
        EncodedNames = [.. names.Select(n => JsonEncodedText.Encode(n))];
    }

    /// <summary>The distinct names of the holes, in the order they first appear: the order an event gives its values in.</summary>
    public string[] Names { get; }
    public JsonEncodedText[] EncodedNames { get; }

    /// <summary>The message, each hole replaced by its name's value (<paramref name="values"/> in the order of <see cref="Names"/>).</summary>
    public void Render(ArrayBufferWriter<char> message, ReadOnlySpan<string> values)
    {
        for (var i = 0; i < _holes.Length; i++)
        {
            message.Write(_texts[i]);
            message.Write(values[_holes[i]]);
        }
        message.Write(_texts[^1]);
    }

    public static AuditTemplate Parse(string template)
    {
        var texts = new List<string>();
        var holes = new List<int>();
        var names = new List<string>();
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
                var name = hole[..(hole.IndexOfAny(',', ':') is var cut and >= 0 ? cut : hole.Length)].ToString();
                if (!names.Contains(name)) names.Add(name);
                holes.Add(names.IndexOf(name));
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
        return new AuditTemplate([.. texts], [.. holes], [.. names]);
    }
}
