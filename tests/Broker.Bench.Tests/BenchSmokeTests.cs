using System.Text.Json;

namespace Broker.Bench.Tests;

/// <summary>
/// Runs every benchmark scenario at tiny sizes so the tool cannot rot. It checks that each scenario ran and
/// that what it counted is right (one refresh per family); it asserts no speed.
/// </summary>
public sealed class BenchSmokeTests
{
    [Fact]
    public async Task Every_scenario_runs_and_reports_its_figures()
    {
        var report = await new BenchRunner(BenchOptions.Smoke, TextWriter.Null).RunAsync();

        Assert.Equal(6, report.Sections.Count);
        Assert.All(report.Sections, section => Assert.NotEmpty(section.Rows));
        var storm = report.Sections.Single(s => s.Title.StartsWith("2.", StringComparison.Ordinal));
        Assert.Equal(1.0, (double)storm.Figures["refreshesPerFamily"]);
        foreach (var cache in report.Sections.Where(s => s.Title.StartsWith("1.", StringComparison.Ordinal) || s.Title.StartsWith("5.", StringComparison.Ordinal)))
        {
            var failures = cache.Rows.Select(r => int.Parse(r[^1])).Sum();
            Assert.Equal(0, failures);
            Assert.All(cache.Rows, r => Assert.True(double.Parse(r[1], System.Globalization.CultureInfo.InvariantCulture) > 0));
        }
        using var json = JsonDocument.Parse(report.ToJson());
        var parts = report.Sections.Single(s => s.Title.StartsWith("7.", StringComparison.Ordinal));
        Assert.Equal(3, parts.Rows.Count);
        Assert.Equal(6, json.RootElement.GetProperty("sections").GetArrayLength());
    }

    [Fact]
    public async Task The_events_scenario_delivers_every_event_once_with_a_verified_signature_on_three_silos()
    {
        var report = await new BenchRunner(BenchOptions.Smoke with { Scenarios = ["events"] }, TextWriter.Null).RunAsync();

        var section = Assert.Single(report.Sections);
        Assert.Equal(2 * BenchOptions.Smoke.EventFamilies, (int)section.Figures["events"]);
        Assert.Equal(section.Figures["events"], section.Figures["received"]);
        Assert.Equal(0, (int)section.Figures["unverified"]);
        Assert.True((double)section.Figures["p50Ms"] <= (double)section.Figures["p99Ms"]);
    }

    [Fact]
    public async Task The_pinned_comparison_runs_both_servers_as_processes_and_reports_their_cpu()
    {
        var report = await new Broker.Bench.Pinned.PinnedRunner(Broker.Bench.Pinned.PinnedOptions.Smoke, TextWriter.Null).RunAsync();

        Assert.Equal(4, report.Sections.Count);
        Assert.Contains(report.Sections, s => s.Title.StartsWith("pinned: CreateProof proofs", StringComparison.Ordinal));
        var storm = report.Sections.Single(s => s.Title.StartsWith("pinned: refresh storm", StringComparison.Ordinal));
        Assert.Equal(1.0, (double)storm.Figures["refreshesPerFamily"]); // one refresh per family per round, whatever the callers
        Assert.All(storm.Rows, row => Assert.Equal("0", row[^1]));
        // The direct refreshes were measured again beside as many bare calls to the echo as the storm has callers.
        Assert.True((double)storm.Figures["callerP50OverDirectBesideBareCallsP50"] > 0);
        Assert.Single(storm.Notes, n => n.Contains("bare gRPC calls to the echo") && !n.Contains("(0-byte replies)"));
        foreach (var section in report.Sections.Where(s => s != storm))
        {
            var row = Assert.Single(section.Rows);
            Assert.Equal("0", row[^1]); // no failed call on either server
            Assert.True(double.Parse(row[2], System.Globalization.CultureInfo.InvariantCulture) > 0, "the silo's CPU time was read");
            Assert.True(double.Parse(row[3], System.Globalization.CultureInfo.InvariantCulture) > 0, "the echo's CPU time was read");
            Assert.True(double.Parse(row[5], System.Globalization.CultureInfo.InvariantCulture) > 0, "the echo was measured again at the broker's rate");
            // Where each server's CPU went: its pool's worker threads, with their switches per call.
            var threads = Assert.Single(section.Notes, n => n.StartsWith("c2 threads per call", StringComparison.Ordinal));
            Assert.Equal(3, System.Text.RegularExpressions.Regex.Count(threads, @"'\.NET TP Worker' [0-9.]+ us [0-9.]+ sw x[1-9][0-9]*(-[0-9]+)?"));
        }
    }

    [Fact]
    public async Task Another_silo_build_is_measured_in_the_same_pairs()
    {
        var options = Broker.Bench.Pinned.PinnedOptions.Smoke with
        {
            Scenarios = ["cache"], AgainstSiloDll = Broker.Bench.Pinned.PinnedSilo.SiloDll(), CompilerSettleLimit = TimeSpan.FromSeconds(1),
            HillClimbing = false, // the servers start and answer with the runtime's hill climbing off as well,
            PoolWorkers = 2, // and with their pools held at two workers
        };
        var report = await new Broker.Bench.Pinned.PinnedRunner(options, TextWriter.Null).RunAsync();

        // Each server's compiler was watched through its perf map after the warm-up.
        var compiler = Assert.Single(report.Sections[0].Notes, n => n.StartsWith("compiler after the warm-up", StringComparison.Ordinal));
        Assert.Equal(3, System.Text.RegularExpressions.Regex.Count(compiler, @"(silo|against|echo) [0-9,]+ code bodies"));

        // Every server ran on the two pool workers asked for (a one-core silo starts with one).
        var threads = Assert.Single(report.Sections[0].Notes, n => n.StartsWith("c2 threads per call", StringComparison.Ordinal));
        Assert.Matches(@"'\.NET TP Worker' [0-9.]+ us [0-9.]+ sw x", threads);
        Assert.DoesNotMatch(@"'\.NET TP Worker' [0-9.]+ us [0-9.]+ sw x1\b", threads);

        var versus = report.Sections.Single(s => s.Title.Contains("this silo against", StringComparison.Ordinal));
        var row = Assert.Single(versus.Rows);
        Assert.True(double.Parse(row[1], System.Globalization.CultureInfo.InvariantCulture) > 0, "the silo's CPU time was read");
        Assert.True(double.Parse(row[2], System.Globalization.CultureInfo.InvariantCulture) > 0, "the other silo's CPU time was read");
        Assert.Equal("0", row[^1]); // no failed call on the other silo
    }
}
