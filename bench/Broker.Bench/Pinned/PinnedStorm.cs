using System.Diagnostics;
using Broker.Bench.Load;
using Broker.Testing;
using Broker.Testing.AuthorizationServer;
using Broker.V1;
using Google.Protobuf.WellKnownTypes;

namespace Broker.Bench.Pinned;

/// <summary>
/// The refresh storm against the pinned silo: families whose access tokens have expired, and callers released at once
/// on them, next to the same number of refreshes sent straight to the authorization server at once (the baseline),
/// alternated in rounds. Every round uses new grants, so no refresh token is ever sent twice.
/// </summary>
/// <remarks>
/// A third round splits the callers' excess over the direct refreshes: the same direct refreshes, each released with as
/// many bare gRPC calls to the pinned echo as the storm has callers (replies the size of the storm's). The load generator
/// and the authorization server share their cores, so the storm's refreshes run beside the callers' own gRPC work; this
/// round gives the refreshes the same neighbours with a server that does nothing, so what the storm takes beyond it is
/// the broker's.
/// </remarks>
public sealed class PinnedStorm(PinnedOptions options, TestAuthorizationServer server, PinnedSilo pinned, Echo.Echo.EchoClient echo)
{
    private readonly DirectClient _direct = new(server);
    private int _round;
    private int _replyBytes;

    public async Task RunAsync(Report report)
    {
        await _direct.RegisterAsync();
        var section = report.Add(
            $"pinned: refresh storm, {options.StormCallers} callers on {options.StormFamilies} families whose tokens expired, released at once, " +
            $"vs {options.StormFamilies} refreshes sent straight to the server at once; {options.Pairs} alternated rounds, median [min-max]",
            "round", "upstream refreshes", "per family", "caller p50 ms", "caller p99 ms", "direct refresh p50 ms", "p99 ms", "caller p50 / direct p50",
            "direct p50 beside bare calls ms", "caller p50 / that", "grain calls per family", "silo CPU ms", "settled ms", "failures");
        // Unmeasured rounds first: the first refreshes through a new client and silo pay for JIT and connections.
        await DirectRoundAsync(bareCalls: false);
        // At least one storm before the bare calls: they reply as many bytes as a storm's caller was answered.
        for (var i = 0; i < Math.Max(1, options.StormWarmUpRounds); i++) await StormRoundAsync();
        await DirectRoundAsync(bareCalls: true);
        var ratios = new List<double>();
        var besideRatios = new List<double>();
        var perFamily = new List<double>();
        for (var round = 1; round <= options.Pairs; round++)
        {
            // Each round in another order of the three: a machine drifting within a round favours none of them always.
            (double P50, double P99) direct = default, beside = default;
            StormRound storm = null!;
            foreach (var step in Orders[(round - 1) % Orders.Length])
            {
                switch (step)
                {
                    case Step.Direct: direct = await DirectRoundAsync(bareCalls: false); break;
                    case Step.Beside: beside = await DirectRoundAsync(bareCalls: true); break;
                    case Step.Storm: storm = await StormRoundAsync(); break;
                }
            }
            ratios.Add(storm.P50 / direct.P50);
            besideRatios.Add(storm.P50 / beside.P50);
            perFamily.Add((double)storm.Refreshes / options.StormFamilies);
            section.Rows.Add([round.ToString(), storm.Refreshes.ToString(), Report.F(perFamily[^1]), Report.F(storm.P50), Report.F(storm.P99),
                Report.F(direct.P50), Report.F(direct.P99), Report.F(ratios[^1]), Report.F(beside.P50), Report.F(besideRatios[^1]),
                Report.F((double)storm.GrainCalls / options.StormFamilies), Report.F(storm.SiloCpu.TotalMilliseconds, 1),
                Report.F(storm.Settled.TotalMilliseconds, 0), storm.Failures.ToString()]);
        }
        section.Figures["callerP50OverDirectP50"] = Report.Median(ratios);
        section.Figures["callerP50OverDirectBesideBareCallsP50"] = Report.Median(besideRatios);
        section.Figures["refreshesPerFamily"] = perFamily.Average();
        section.Notes.Add($"caller p50 / direct p50, median of the rounds: {Report.Spread(ratios)}");
        section.Notes.Add($"caller p50 / direct p50 beside {options.StormCallers} bare gRPC calls to the echo ({_replyBytes}-byte replies), median of the rounds: {Report.Spread(besideRatios)}");
        section.Notes.Add("the authorization server runs in the load generator's process (load cores): the direct refreshes and the storm's callers share those cores with it alike");
    }

    private enum Step { Direct, Beside, Storm }

    // Every order of the three, one per round in turn.
    private static readonly Step[][] Orders =
    [
        [Step.Direct, Step.Beside, Step.Storm], [Step.Storm, Step.Direct, Step.Beside], [Step.Beside, Step.Storm, Step.Direct],
        [Step.Direct, Step.Storm, Step.Beside], [Step.Storm, Step.Beside, Step.Direct], [Step.Beside, Step.Direct, Step.Storm],
    ];

    /// <summary>Grants for this round: new users, each authorized once at the server.</summary>
    private async Task<DirectClient.Tokens[]> GrantsAsync(string prefix)
    {
        var round = Interlocked.Increment(ref _round);
        var grants = new DirectClient.Tokens[options.StormFamilies];
        for (var i = 0; i < grants.Length; i++) grants[i] = await _direct.AuthorizeAsync($"{prefix}-{round}-{i}", "api.read");
        return grants;
    }

    /// <summary>
    /// The families' refreshes sent straight to the server at once; with <paramref name="bareCalls"/>, each caller the
    /// storm would have makes a bare gRPC call to the echo, released with them, the first ones beside a refresh each.
    /// </summary>
    private async Task<(double P50, double P99)> DirectRoundAsync(bool bareCalls)
    {
        var grants = await GrantsAsync("direct");
        var latencies = new TimeSpan[grants.Length];
        var echoMessage = new Echo.EchoMessage { Text = "bench", ReplyBytes = _replyBytes };
        await Concurrently.RunAsync(bareCalls ? Math.Max(options.StormCallers, grants.Length) : grants.Length, async i =>
        {
            var bare = bareCalls ? echo.SayAsync(echoMessage).ResponseAsync : null;
            if (i < grants.Length)
            {
                var started = Stopwatch.GetTimestamp();
                _ = await _direct.RefreshAsync(grants[i].RefreshToken!) ?? throw new InvalidOperationException("a direct refresh was refused.");
                latencies[i] = Stopwatch.GetElapsedTime(started);
            }
            if (bare is not null) await bare;
            return 0;
        });
        return LoadGenerator.Percentiles(latencies);
    }

    private sealed record StormRound(double P50, double P99, int Refreshes, long GrainCalls, TimeSpan SiloCpu, TimeSpan Settled, int Failures);

    private async Task<StormRound> StormRoundAsync()
    {
        var grants = await GrantsAsync("storm");
        var round = _round;
        var expired = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddSeconds(-1));
        for (var i = 0; i < grants.Length; i++)
        {
            await pinned.Broker.ImportTokensAsync(new ImportTokensRequest
            {
                Provider = "bench", Subject = $"storm-{round}-{i}", AccessToken = grants[i].AccessToken, RefreshToken = grants[i].RefreshToken,
                AccessTokenExpiresAt = expired, Scopes = { grants[i].Scope.Split(' ', StringSplitOptions.RemoveEmptyEntries) },
            });
        }

        // The storm hits a quiet silo, not one still busy with the imports or the round before.
        var settled = await pinned.Process.SettleAsync(TimeSpan.FromSeconds(20));
        var before = server.Stats.RefreshTokenGrants;
        var answersBefore = await pinned.GrainAnswersAsync();
        var cpuBefore = pinned.Process.CpuTime;
        var latencies = new TimeSpan[options.StormCallers];
        var failures = 0;
        await Concurrently.RunAsync(options.StormCallers, async i =>
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                var token = await pinned.Broker.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "bench", Subject = $"storm-{round}-{i % grants.Length}" });
                if (i == 0) _replyBytes = token.CalculateSize();
            }
            catch (Grpc.Core.RpcException)
            {
                Interlocked.Increment(ref failures);
            }
            latencies[i] = Stopwatch.GetElapsedTime(started);
            return 0;
        });
        var cpu = pinned.Process.CpuTime - cpuBefore;
        // Prometheus' answer is cached for a moment (300 ms by default): read it once that has passed.
        await Task.Delay(TimeSpan.FromMilliseconds(400));
        var grainCalls = await pinned.GrainAnswersAsync() - answersBefore;
        var (p50, p99) = LoadGenerator.Percentiles(latencies);
        return new StormRound(p50, p99, server.Stats.RefreshTokenGrants - before, grainCalls, cpu, settled, failures);
    }
}
