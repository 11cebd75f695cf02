using System.Globalization;
using Broker.Testing.Processes;

namespace Broker.Bench.Soak;

/// <summary>A silo's memory at one moment: resident set from /proc, GC heap and activations from its own /metrics.</summary>
public sealed record SiloMemory(string Slot, int Pid, double RssMb, double GcHeapMb, double Activations)
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(15) };

    public static async Task<SiloMemory?> ReadAsync(SiloSlot slot)
    {
        if (slot.Process is not { HasExited: false } process) return null;
        double rss = double.NaN, heap = double.NaN, activations = double.NaN;
        try
        {
            // VmRSS is in kB.
            var line = File.ReadLines($"/proc/{process.ProcessId}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            if (line is not null) rss = double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
        }
        catch (IOException)
        {
        }
        try
        {
            var metrics = await Http.GetStringAsync($"http://127.0.0.1:{process.HttpPort}/metrics");
            heap = Sum(metrics, "dotnet_gc_last_collection_heap_size_bytes") / (1024 * 1024);
            activations = Sum(metrics, "orleans_catalog_activations");
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
        }
        return new SiloMemory(slot.Name, process.ProcessId, rss, heap, activations);
    }

    /// <summary>Sum of every sample of one metric (all label sets) in Prometheus text; NaN when absent.</summary>
    public static double Sum(string text, string metric)
    {
        var sum = double.NaN;
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#' || !line.StartsWith(metric, StringComparison.Ordinal)) continue;
            var rest = line[metric.Length..];
            if (rest.Length == 0 || (rest[0] != '{' && rest[0] != ' ')) continue;
            var value = rest[(rest.LastIndexOf('}') + 1)..].Trim().Split(' ')[0];
            if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var v)) sum = double.IsNaN(sum) ? v : sum + v;
        }
        return sum;
    }
}
