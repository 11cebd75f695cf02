using Broker.Bench.Load;
using Broker.Testing.Hosting;
using Broker.V1;
using Grpc.Core;

namespace Broker.Bench.Soak;

/// <summary>
/// The soak: a three-silo cluster on PostgreSQL and Redis under cache-hit load at a share of its measured saturating
/// rate, with short-lived tokens so refreshes flow, through the <see cref="SoakSchedule"/>; one report row per interval,
/// and at the end every family is described and asked for a token.
/// </summary>
public sealed class SoakRunner(SoakOptions options, TextWriter progress)
{
    public async Task<SoakReport> RunAsync()
    {
        // Silo logs are kept for a diagnosis of whatever the run shows.
        Environment.SetEnvironmentVariable("BROKER_TEST_KEEP_SILO_LOGS", "1");
        // Keep threads ready for the load's bursts (the authorization server has a process of its own).
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 64), Math.Max(io, 64));
        await using var cluster = await SoakCluster.StartAsync(options, progress);
        await cluster.StartSiloAsync(cluster.Slots[0]);
        await cluster.StartSiloAsync(cluster.Slots[1]);
        cluster.Watch();
        progress.WriteLine($"soak: 2 silos up; authorizing {options.Families} families through the code flow ...");
        await AuthorizeAsync(cluster);

        var load = new SoakLoad(cluster, options);
        // On a loaded machine the authorizations can outlast the first tokens: refresh whatever needs it before the
        // saturating rate is measured, or it measures refreshes held back by the token budget, not cache hits.
        progress.WriteLine("soak: every family once, so that the probe below meets cache hits ...");
        var nextFamily = -1;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            for (var i = Interlocked.Increment(ref nextFamily); i < options.Families; i = Interlocked.Increment(ref nextFamily))
            {
                for (var attempt = 0; attempt < 20 && (await load.CallAsync(i, new SoakTally())).Failures > 0; attempt++)
                    await Task.Delay(TimeSpan.FromSeconds(1));
            }
        })));
        var scratch = new SoakTally();
        await LoadGenerator.ClosedLoopAsync("warm", options.SaturationConcurrency, TimeSpan.FromSeconds(2), i => load.CallAsync(i % options.Families, new SoakTally()));
        var probe = await LoadGenerator.ClosedLoopAsync("saturation", options.SaturationConcurrency, options.SaturationProbe, i => load.CallAsync(i % options.Families, scratch));
        var saturating = (scratch.Calls - scratch.Failures) / probe.Seconds;
        var rate = Math.Max(1, saturating * options.LoadShare);
        progress.WriteLine($"soak: saturating rate {saturating:F0} calls/s (2 silos, {options.SaturationConcurrency} callers); offering {rate:F0} calls/s for {options.Duration}");

        var report = new SoakReport(options, saturating, rate);
        var stats = await cluster.Server.StatsAsync();
        var start = DateTime.UtcNow;
        load.Swap();
        using var stopLoad = new CancellationTokenSource();
        var running = load.RunAsync(rate, stopLoad.Token);
        var schedule = new SoakSchedule(cluster, options, progress);
        var steps = schedule.RunAsync(start, CancellationToken.None);

        var last = (Refreshes: stats.RefreshTokenGrants, Requests: stats.TokenRequests, Reuses: stats.RefreshTokenReuses, Rejections: stats.RefreshTokenRejections);
        for (var row = 1; start + options.Interval * row <= start + options.Duration + TimeSpan.FromSeconds(1); row++)
        {
            var due = start + options.Interval * row - DateTime.UtcNow;
            if (due > TimeSpan.Zero) await Task.Delay(due);
            var tally = load.Swap();
            stats = await cluster.Server.StatsAsync();
            var now = (Refreshes: stats.RefreshTokenGrants, Requests: stats.TokenRequests, Reuses: stats.RefreshTokenReuses, Rejections: stats.RefreshTokenRejections);
            var memory = new List<SiloMemory>();
            foreach (var slot in cluster.Slots)
            {
                if (await SiloMemory.ReadAsync(slot) is { } m) memory.Add(m);
            }
            var events = new List<string>();
            while (schedule.Started.TryDequeue(out var step)) events.Add(step);
            while (cluster.Notices.TryDequeue(out var notice)) events.Add(notice);
            var interval = new SoakReport.Interval(row, tally, now.Refreshes - last.Refreshes, now.Requests - last.Requests,
                now.Reuses - last.Reuses, now.Rejections - last.Rejections, memory, events);
            report.Add(interval);
            progress.WriteLine(report.Line(interval));
            last = now;
        }
        await stopLoad.CancelAsync();
        await running;
        var leftover = load.Swap();
        report.Total.Add(leftover);
        await steps;
        report.Steps.AddRange(schedule.Log);

        progress.WriteLine("soak: load stopped; checking every family ...");
        await CheckFamiliesAsync(cluster, report);
        stats = await cluster.Server.StatsAsync();
        report.Server = stats.Summary;
        report.MostPresentations = stats.MostPresentations;
        report.ServerErrors.AddRange(stats.Errors);
        report.AnalyzeRefreshes(stats.RefreshGrantsBySubject, Enumerable.Range(0, options.Families).Select(SoakLoad.Subject), start, DateTime.UtcNow);
        foreach (var slot in cluster.Slots) report.Silos.Add($"{slot.Name}: started {slot.Starts} times, unplanned exits {slot.UnplannedExits}");
        return report;
    }

    private async Task AuthorizeAsync(SoakCluster cluster)
    {
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            for (var i = Interlocked.Increment(ref next); i < options.Families; i = Interlocked.Increment(ref next))
            {
                var silo = cluster.Slots[i % 2].Process!;
                var subject = SoakLoad.Subject(i);
                // A user whose callback page says "try again" (503: the token budget or a slow server) tries again.
                for (var attempt = 1; ; attempt++)
                {
                    var redirect = await AuthorizationFlow.ObtainRedirectAsync(silo, SoakCluster.Provider, subject, ["api.read"],
                        AuthorizationFlow.LoginAs(subject), returnUrl: TestCallers.ReturnUrl);
                    using var callback = await AuthorizationFlow.DeliverAsync(silo, redirect);
                    if (AuthorizationFlow.CompletionOf(callback) is { } completion)
                    {
                        await silo.Client.CompleteAuthorizationAsync(new CompleteAuthorizationRequest { Provider = SoakCluster.Provider, Subject = subject, Completion = completion });
                        break;
                    }
                    if (attempt == 10) throw new InvalidOperationException($"callback for {subject} answered {(int)callback.StatusCode} ten times");
                    progress.WriteLine($"soak: callback for {subject} answered {(int)callback.StatusCode}; the user tries again");
                    await Task.Delay(TimeSpan.FromSeconds(2));
                }
            }
        })));
    }

    /// <summary>
    /// Every family is described (active) and serves an unexpired token; a failure is tried twice more, 5 s apart, before
    /// it counts. Eight at a time: a run that lost most families must still end (one at a time with 30 s each did not).
    /// </summary>
    private async Task CheckFamiliesAsync(SoakCluster cluster, SoakReport report)
    {
        var results = new string?[options.Families];
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            for (var i = Interlocked.Increment(ref next); i < options.Families; i = Interlocked.Increment(ref next))
            {
                for (var attempt = 0; attempt < 3; attempt++)
                {
                    results[i] = await CheckAsync(cluster, SoakLoad.Subject(i));
                    if (results[i] is null) break;
                    await Task.Delay(TimeSpan.FromSeconds(5));
                }
            }
        })));
        for (var i = 0; i < options.Families; i++)
        {
            var subject = SoakLoad.Subject(i);
            if (results[i] is not { } problem) report.FamiliesHealthy++;
            else if (problem.StartsWith("lost", StringComparison.Ordinal)) report.FamiliesLost.Add($"{subject}: {problem}");
            else report.FamiliesStuck.Add($"{subject}: {problem}");
        }
    }

    private static async Task<string?> CheckAsync(SoakCluster cluster, string subject)
    {
        if (cluster.Pick()?.Process is not { } silo) return "no ready silo";
        try
        {
            var family = await silo.Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = SoakCluster.Provider, Subject = subject });
            if (family.Status != "active") return $"status {family.Status} ({family.StatusReason})";
            var token = await silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = SoakCluster.Provider, Subject = subject });
            return token.ExpiresAt.ToDateTimeOffset() > DateTimeOffset.UtcNow ? null : "served an expired token";
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
            return $"lost: {SoakLoad.Cause(ex)}";
        }
        catch (RpcException ex)
        {
            return SoakLoad.Cause(ex);
        }
    }
}
