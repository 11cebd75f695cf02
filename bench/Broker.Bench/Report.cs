using System.Text;
using System.Text.Json;

namespace Broker.Bench;

/// <summary>One table of the report, with the figures also kept for JSON.</summary>
public sealed record Section(string Title, string[] Columns, List<string[]> Rows, Dictionary<string, object> Figures, List<string> Notes);

/// <summary>The results of a run: printed as tables for people and written as JSON for scripts.</summary>
public sealed class Report
{
    public List<Section> Sections { get; } = [];
    public Dictionary<string, object> Machine { get; } = new()
    {
        ["processors"] = Environment.ProcessorCount,
        ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
        ["runtime"] = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
        ["serverGc"] = System.Runtime.GCSettings.IsServerGC,
    };

    public Section Add(string title, params string[] columns)
    {
        var section = new Section(title, columns, [], [], []);
        Sections.Add(section);
        return section;
    }

    public string ToTable()
    {
        var text = new StringBuilder();
        text.AppendLine($"machine: {string.Join(", ", Machine.Select(m => $"{m.Key}={m.Value}"))}");
        foreach (var section in Sections)
        {
            text.AppendLine().AppendLine($"## {section.Title}");
            var widths = section.Columns.Select((c, i) => Math.Max(c.Length, section.Rows.Count == 0 ? 0 : section.Rows.Max(r => r[i].Length))).ToArray();
            text.AppendLine("| " + string.Join(" | ", section.Columns.Select((c, i) => c.PadRight(widths[i]))) + " |");
            text.AppendLine("|" + string.Join("|", widths.Select(w => new string('-', w + 2))) + "|");
            foreach (var row in section.Rows)
                text.AppendLine("| " + string.Join(" | ", row.Select((c, i) => c.PadLeft(widths[i]))) + " |");
            foreach (var note in section.Notes) text.AppendLine($"- {note}");
        }
        return text.ToString();
    }

    public string ToJson() => JsonSerializer.Serialize(new
    {
        machine = Machine,
        sections = Sections.Select(s => new { title = s.Title, columns = s.Columns, rows = s.Rows, figures = s.Figures, notes = s.Notes }),
    }, new JsonSerializerOptions { WriteIndented = true });

    public static string F(double value, int digits = 2) => value.ToString($"F{digits}", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The middle value; of an even count, the mean of the middle two.</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>"median [min-max]", or the one value.</summary>
    public static string Spread(IEnumerable<double> values, int digits = 2)
    {
        var sorted = values.Order().ToArray();
        var median = Median(sorted);
        return sorted.Length == 1 ? F(median, digits) : $"{F(median, digits)} [{F(sorted[0], digits)}-{F(sorted[^1], digits)}]";
    }
}
