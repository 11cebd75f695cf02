using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Broker.Bench.Soak;

/// <summary>The soak's figures: one row per interval, totals, the schedule as it happened, the families at the end.</summary>
public sealed class SoakReport(SoakOptions options, double saturatingRate, double offeredRate)
{
    public sealed record Interval(int Row, SoakTally Tally, int Refreshes, int TokenRequests, int Reuses, int Rejections,
        List<SiloMemory> Memory, List<string> Events);

    public SoakOptions Options { get; } = options;
    public double SaturatingRate { get; } = saturatingRate;
    public double OfferedRate { get; } = offeredRate;
    public List<Interval> Intervals { get; } = [];
    public SoakTally Total { get; } = new();
    public List<SoakSchedule.Happened> Steps { get; } = [];
    public int FamiliesHealthy { get; set; }
    public List<string> FamiliesLost { get; } = [];
    public List<string> FamiliesStuck { get; } = [];
    public string Server { get; set; } = "";
    public List<string> ServerErrors { get; } = [];
    public List<string> Silos { get; } = [];

    /// <summary>Successful refresh grants per family over the run: fewest, median, most.</summary>
    public (int Min, int Median, int Max) RefreshesPerFamily { get; private set; }

    /// <summary>Refresh grants that came within half a refresh cycle of the family's previous one: a second refresh for one expiry.</summary>
    public List<string> ExtraRefreshes { get; } = [];

    /// <summary>What one refresh per expiry predicts per family: the run over (lifetime - expiry buffer - half the mean jitter).</summary>
    public double ExpectedRefreshesPerFamily { get; private set; }

    public int Reuses => Intervals.Sum(i => i.Reuses);
    public int MostPresentations { get; set; }
    public int Rejections => Intervals.Sum(i => i.Rejections);

    public void Add(Interval interval)
    {
        Intervals.Add(interval);
        Total.Add(interval.Tally);
    }

    public void AnalyzeRefreshes(IReadOnlyDictionary<string, DateTimeOffset[]> grants, IEnumerable<string> subjects, DateTime start, DateTime end)
    {
        var cycle = Options.AccessTokenLifetime - Options.ExpiryBuffer - Options.AccessTokenLifetime * 0.05;
        var counts = new List<int>();
        foreach (var subject in subjects)
        {
            var times = grants.TryGetValue(subject, out var t) ? t.Where(x => x >= start && x <= end).ToArray() : [];
            counts.Add(times.Length);
            for (var i = 1; i < times.Length; i++)
            {
                var gap = times[i] - times[i - 1];
                if (gap < cycle / 2) ExtraRefreshes.Add($"{subject}: {gap.TotalSeconds:F1} s after the previous one, at {times[i] - start:mm\\:ss}");
            }
        }
        counts.Sort();
        RefreshesPerFamily = counts.Count == 0 ? (0, 0, 0) : (counts[0], counts[counts.Count / 2], counts[^1]);
        ExpectedRefreshesPerFamily = (end - start) / cycle;
    }

    public string Line(Interval i)
    {
        var causes = string.Join(", ", i.Tally.FailuresByCause.OrderByDescending(c => c.Value).Select(c => $"{c.Key} {c.Value}"));
        var bySilo = string.Join(" ", i.Tally.CallsBySilo.OrderBy(c => c.Key).Select(c => $"{c.Key}:{c.Value}/{i.Tally.FailuresBySilo.GetValueOrDefault(c.Key)}"));
        var memory = string.Join(" ", i.Memory.Select(m => $"{m.Slot}:{F(m.RssMb, 0)}/{F(m.GcHeapMb, 0)}/{F(m.Activations, 0)}"));
        return $"| {i.Row} | {i.Tally.Calls} | {i.Tally.Failures} | {causes} | {bySilo} | {i.Tally.Shed} | {i.Refreshes} | {i.TokenRequests} | {i.Reuses} | {i.Rejections} | {memory} | {string.Join("; ", i.Events)} |";
    }

    public string ToMarkdown()
    {
        var s = new StringBuilder();
        s.AppendLine(CultureInfo.InvariantCulture, $"Duration {Options.Duration}, {Options.Families} families, access tokens live {Options.AccessTokenLifetime.TotalSeconds:F0} s, expiry buffer {Options.ExpiryBuffer.TotalSeconds:F0} s, reuse leeway {Options.ReuseLeeway.TotalSeconds:F0} s.");
        s.AppendLine(CultureInfo.InvariantCulture, $"Saturating rate of cache hits (2 silos, {Options.SaturationConcurrency} callers, {Options.SaturationProbe.TotalSeconds:F0} s): {SaturatingRate:F0} calls/s; offered {OfferedRate:F0} calls/s ({Options.LoadShare:P0}).");
        s.AppendLine();
        s.AppendLine("| min | calls | failed | failures by cause | calls/failed by silo | shed | refreshes | token requests | reuses | rejections | memory: RSS MB/GC heap MB/activations | events |");
        s.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var i in Intervals) s.AppendLine(Line(i));
        s.AppendLine();
        s.AppendLine("Totals:");
        s.AppendLine();
        s.AppendLine(CultureInfo.InvariantCulture, $"- calls {Total.Calls}, failed {Total.Failures} ({(Total.Calls == 0 ? 0 : 100.0 * Total.Failures / Total.Calls):F3} %), shed by the load generator {Total.Shed}");
        foreach (var (cause, n) in Total.FailuresByCause.OrderByDescending(c => c.Value)) s.AppendLine(CultureInfo.InvariantCulture, $"  - {cause}: {n}");
        foreach (var (silo, n) in Total.CallsBySilo.OrderBy(c => c.Key)) s.AppendLine(CultureInfo.InvariantCulture, $"  - {silo}: {n} calls, {Total.FailuresBySilo.GetValueOrDefault(silo)} failed");
        s.AppendLine(CultureInfo.InvariantCulture, $"- upstream refresh grants per family: min {RefreshesPerFamily.Min}, median {RefreshesPerFamily.Median}, max {RefreshesPerFamily.Max} (one per expiry predicts about {ExpectedRefreshesPerFamily:F1})");
        s.AppendLine(CultureInfo.InvariantCulture, $"- second refreshes for one expiry (within half a refresh cycle of the previous): {ExtraRefreshes.Count}");
        foreach (var extra in ExtraRefreshes.Take(10)) s.AppendLine(CultureInfo.InvariantCulture, $"  - {extra}");
        s.AppendLine(CultureInfo.InvariantCulture, $"- refresh tokens presented again (accepted only inside the {Options.ReuseLeeway.TotalSeconds:F0} s reuse leeway): {Reuses}; most presentations of one refresh token: {MostPresentations}");
        s.AppendLine(CultureInfo.InvariantCulture, $"- refresh grants refused by the server (a reuse past the leeway, which revokes the grant): {Rejections}");
        s.AppendLine(CultureInfo.InvariantCulture, $"- server: {Server}");
        foreach (var error in ServerErrors) s.AppendLine(CultureInfo.InvariantCulture, $"  - error answered: {error}");
        s.AppendLine(CultureInfo.InvariantCulture, $"- families at the end: {FamiliesHealthy} healthy, {FamiliesLost.Count} lost, {FamiliesStuck.Count} stuck");
        foreach (var f in FamiliesLost.Concat(FamiliesStuck).Take(20)) s.AppendLine(CultureInfo.InvariantCulture, $"  - {f}");
        foreach (var silo in Silos) s.AppendLine(CultureInfo.InvariantCulture, $"- {silo}");
        s.AppendLine("- memory slope per silo process (least squares over its rows after its first two):");
        foreach (var line in Slopes()) s.AppendLine(CultureInfo.InvariantCulture, $"  - {line}");
        s.AppendLine();
        s.AppendLine("Schedule as it happened:");
        s.AppendLine();
        foreach (var step in Steps) s.AppendLine(CultureInfo.InvariantCulture, $"- {step.At:mm\\:ss} (+{step.Took.TotalSeconds:F0} s) {step.Name}: {step.Outcome}");
        return s.ToString();
    }

    public IEnumerable<string> Slopes()
    {
        var perMinute = Options.Interval.TotalMinutes;
        foreach (var process in Intervals.SelectMany(i => i.Memory.Select(m => (i.Row, m))).GroupBy(x => x.m.Pid))
        {
            var samples = process.Skip(2).ToList();
            var slot = process.First().m.Slot;
            if (samples.Count < 5)
            {
                yield return $"{slot} (pid {process.Key}): {process.Count()} rows, too few for a slope";
                continue;
            }
            double Slope(Func<SiloMemory, double> value)
            {
                var xs = samples.Select(s => (double)s.Row).ToArray();
                var ys = samples.Select(s => value(s.m)).ToArray();
                var mx = xs.Average();
                var my = ys.Average();
                var den = xs.Sum(x => (x - mx) * (x - mx));
                return den == 0 ? 0 : xs.Zip(ys).Sum(p => (p.First - mx) * (p.Second - my)) / den / perMinute;
            }
            var first = samples[0].m;
            var lastSample = samples[^1].m;
            yield return $"{slot} (pid {process.Key}, rows {samples[0].Row}-{samples[^1].Row}): RSS {F(first.RssMb, 0)} -> {F(lastSample.RssMb, 0)} MB, " +
                $"slope {F(Slope(m => m.RssMb), 2)} MB/min; GC heap {F(first.GcHeapMb, 1)} -> {F(lastSample.GcHeapMb, 1)} MB, slope {F(Slope(m => m.GcHeapMb), 3)} MB/min; " +
                $"activations {F(first.Activations, 0)} -> {F(lastSample.Activations, 0)}";
        }
    }

    public string ToJson() => JsonSerializer.Serialize(new
    {
        options = new { Options.Duration, Options.Families, Options.AccessTokenLifetime, Options.ExpiryBuffer, Options.LoadShare },
        SaturatingRate,
        OfferedRate,
        intervals = Intervals.Select(i => new
        {
            i.Row, i.Tally.Calls, i.Tally.Failures, i.Tally.Shed, byCause = i.Tally.FailuresByCause, bySilo = i.Tally.CallsBySilo,
            failuresBySilo = i.Tally.FailuresBySilo, i.Refreshes, i.TokenRequests, i.Reuses, i.Rejections, memory = i.Memory.Select(m => new
            {
                m.Slot, m.Pid, rssMb = Finite(m.RssMb), gcHeapMb = Finite(m.GcHeapMb), activations = Finite(m.Activations),
            }), i.Events,
        }),
        total = new { Total.Calls, Total.Failures, Total.Shed, byCause = Total.FailuresByCause, bySilo = Total.CallsBySilo },
        refreshesPerFamily = new { RefreshesPerFamily.Min, RefreshesPerFamily.Median, RefreshesPerFamily.Max, expected = ExpectedRefreshesPerFamily },
        extraRefreshes = ExtraRefreshes,
        Reuses,
        Rejections,
        FamiliesHealthy,
        FamiliesLost,
        FamiliesStuck,
        steps = Steps,
        slopes = Slopes(),
        Silos,
    }, new JsonSerializerOptions { WriteIndented = true });

    private static double? Finite(double value) => double.IsFinite(value) ? value : null;

    public static string F(double value, int digits) => double.IsFinite(value) ? value.ToString("F" + digits, CultureInfo.InvariantCulture) : "?";
}
