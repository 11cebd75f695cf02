using System.Text.Json;

namespace Broker.Ops.Output;

/// <summary>Rows as an aligned table for people, or as JSON for scripts (<c>--json</c>).</summary>
public static class Report
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public static void Write(TextWriter output, bool json, IReadOnlyList<string> columns, IReadOnlyList<IReadOnlyList<string>> rows, object? extra = null)
    {
        if (json)
        {
            var objects = rows.Select(r => columns.Select((c, i) => (c, r[i])).ToDictionary(p => p.c, p => p.Item2)).ToList();
            output.WriteLine(JsonSerializer.Serialize(extra is null ? (object)objects : new { rows = objects, summary = extra }, Json));
            return;
        }
        var widths = columns.Select((c, i) => Math.Max(c.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        output.WriteLine(string.Join("  ", columns.Select((c, i) => c.ToUpperInvariant().PadRight(widths[i]))).TrimEnd());
        foreach (var row in rows) output.WriteLine(string.Join("  ", row.Select((v, i) => v.PadRight(widths[i]))).TrimEnd());
        if (extra is null) return;
        foreach (var property in extra.GetType().GetProperties())
            output.WriteLine($"{property.Name}: {property.GetValue(extra) ?? "-"}");
    }
}
