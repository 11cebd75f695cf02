using System.Globalization;
using System.Text.Json;

namespace Broker.Ops.Output;

/// <summary>
/// Rows as an aligned table for people, or as JSON for scripts (<c>--json</c>): numbers stay numbers and a missing
/// value is null. A summary value that is null (no further page) is left out of the table.
/// </summary>
public static class Report
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public static void Write(TextWriter output, bool json, IReadOnlyList<string> columns, IReadOnlyList<IReadOnlyList<object?>> rows, object? extra = null)
    {
        if (json)
        {
            var objects = rows.Select(r => columns.Select((c, i) => (c, r[i])).ToDictionary(p => p.c, p => p.Item2)).ToList();
            output.WriteLine(JsonSerializer.Serialize(extra is null ? (object)objects : new { rows = objects, summary = extra }, Json));
            return;
        }
        var cells = rows.Select(r => r.Select(Text).ToList()).ToList();
        var widths = columns.Select((c, i) => Math.Max(c.Length, cells.Count == 0 ? 0 : cells.Max(r => r[i].Length))).ToArray();
        output.WriteLine(string.Join("  ", columns.Select((c, i) => c.ToUpperInvariant().PadRight(widths[i]))).TrimEnd());
        foreach (var row in cells) output.WriteLine(string.Join("  ", row.Select((v, i) => v.PadRight(widths[i]))).TrimEnd());
        if (extra is null) return;
        foreach (var property in extra.GetType().GetProperties())
        {
            if (property.GetValue(extra) is { } value) output.WriteLine($"{property.Name}: {Text(value)}");
        }
    }

    private static string Text(object? value) => value switch
    {
        null => "",
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
