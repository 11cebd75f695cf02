using System.Diagnostics;
using Broker.Bench.Load;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.DpopServer;
using Broker.Testing.Processes;
using Grpc.Net.Client;

namespace Broker.Bench.Pinned;

/// <summary>
/// Cache hits against a silo built from Broker.Silo, run as its own process and pinned to the server cores, beside a
/// bare gRPC echo process pinned the same way; this process generates the load from the other cores. Server CPU per
/// call comes from each server's own CPU time over the measured window, so the load generator's cost is not counted.
/// </summary>
public sealed class PinnedRunner(PinnedOptions options, TextWriter progress)
{
    public async Task<Report> RunAsync()
    {
        // taskset pins the servers and /proc gives their CPU time: Linux only.
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("the pinned comparison needs Linux (taskset, /proc).");
        var mask = PinnedOptions.CoreList(options.LoadCores).Aggregate(0L, (m, core) => m | (1L << core));
        Process.GetCurrentProcess().ProcessorAffinity = (IntPtr)mask;

        await using var authorizationServer = await TestAuthorizationServer.StartAsync();
        // The DPoP-capable server issues the bound client tokens CreateProof signs for; an hour, so none expires mid-run.
        await using var dpopServer = await DpopAuthorizationServer.StartAsync(requireNonce: false, accessTokenLifetime: TimeSpan.FromHours(1));
        var echoPort = FreePort.Next();
        await using var echo = await ServerProcess.StartAsync("echo", options.ServerCores, typeof(PinnedRunner).Assembly.Location,
            $"serve-echo --port {echoPort}", ServerEnvironment(), echoPort);
        await using var silo = await PinnedSilo.StartAsync("silo", options.SiloDll, options.ServerCores, ServerEnvironment(),
            authorizationServer, dpopServer, options.Families);
        // Another build measured in the same pairs (--against): its figures against this silo's, at the same moments.
        await using var against = options.AgainstSiloDll is { } againstDll
            ? await PinnedSilo.StartAsync("silo-against", againstDll, options.ServerCores, ServerEnvironment(), authorizationServer, dpopServer, options.Families)
            : null;

        using var echoChannel = GrpcChannel.ForAddress($"http://127.0.0.1:{echoPort}", new GrpcChannelOptions());
        var echoClient = new Echo.Echo.EchoClient(echoChannel);

        var report = new Report();
        report.Machine["serverCores"] = options.ServerCores;
        report.Machine["loadCores"] = options.LoadCores;
        report.Machine["serverProcessorCount"] = options.ServerProcessorCount;
        report.Machine["serverSpinLimit"] = options.SpinLimit;
        report.Machine["serverHillClimbing"] = options.ServerHillClimbing;
        if (options.PoolWorkers is { } poolWorkers) report.Machine["serverPoolWorkers"] = poolWorkers;
        if (options.Scenarios.Contains("cache"))
            await CompareAsync(report, "GetAccessToken", $"{options.Families} imported families", s => s.AccessCall, echo, silo, against, echoClient);
        if (options.Scenarios.Contains("client"))
            await CompareAsync(report, "GetClientToken", "2 scope sets", s => s.ClientCall, echo, silo, against, echoClient);
        if (options.Scenarios.Contains("proof"))
            await CompareAsync(report, "CreateProof", "2 DPoP-bound client tokens, ES256", s => s.ProofCall, echo, silo, against, echoClient, "proofs");
        if (options.Scenarios.Contains("storm"))
        {
            progress.WriteLine("pinned: refresh storm ...");
            await new PinnedStorm(options, authorizationServer, silo, echoClient).RunAsync(report);
        }
        return report;
    }

    private async Task CompareAsync(Report report, string name, string what, Func<PinnedSilo, Func<int, Task>> callOf, ServerProcess echo,
        PinnedSilo silo, PinnedSilo? against, Echo.Echo.EchoClient echoClient, string served = "cache hits")
    {
        progress.WriteLine($"pinned: {name} ...");
        var brokerCall = callOf(silo);
        var againstCall = against is null ? null : callOf(against);
        // The echo replies as many bytes as the broker does (the issue's baseline: a bare call with a reply of the same
        // kind): a client token from a real server is a kilobyte or more, an imported test token a few bytes.
        var replyBytes = await ReplyBytesAsync(brokerCall);
        Func<int, Task> echoCall = _ => echoClient.SayAsync(new Echo.EchoMessage { Text = "bench", ReplyBytes = replyBytes }).ResponseAsync;
        var warm = TimeSpan.FromTicks(Math.Max(options.StepDuration.Ticks, options.WarmUp.Ticks / options.Concurrency.Length));
        foreach (var concurrency in options.Concurrency)
        {
            await LoadGenerator.ClosedLoopAsync("warm", concurrency, warm, brokerCall);
            if (againstCall is not null) await LoadGenerator.ClosedLoopAsync("warm", concurrency, warm, againstCall);
            await LoadGenerator.ClosedLoopAsync("warm", concurrency, warm, echoCall);
        }
        List<string> settled = [await SettleCompilerAsync("silo", silo.Process, brokerCall)];
        if (against is not null) settled.Add(await SettleCompilerAsync("against", against.Process, againstCall!));
        settled.Add(await SettleCompilerAsync("echo", echo, echoCall));

        var section = report.Add(
            $"pinned: {name} {served} ({what}) vs bare gRPC echo ({replyBytes}-byte reply, as the broker's), servers on cores {options.ServerCores}, load on {options.LoadCores}, " +
            $"{options.Pairs} alternated pairs of {options.StepDuration.TotalSeconds:F1} s, every other one in reverse order; median [min-max]",
            "concurrency", "throughput broker/echo", "server CPU us/call broker", "echo", "CPU ratio",
            "echo us/call at the broker's rate", "CPU ratio at the same rate", "rate reached", "p99 ms broker", "echo", "p99 ratio", "failures");
        var versus = against is null ? null : report.Add(
            $"pinned: {name} {served}, this silo against {against.Dll}, measured in the same pairs; median [min-max]",
            "concurrency", "server CPU us/call this silo", "against", "CPU this / against", "CPU ratio to echo, this", "against", "failures");
        section.Notes.Add($"compiler after the warm-up: {string.Join("; ", settled)}");
        foreach (var concurrency in options.Concurrency)
        {
            var pairs = new List<(Measured Echo, Measured Broker, Measured? Against, Measured Matched)>();
            for (var pair = 0; pair < options.Pairs; pair++)
            {
                // Every other pair the other way round (echo, broker; then broker, echo): a machine slowing down or
                // speeding up over a pair then favours the echo in one pair and the broker in the next, not always one.
                Measured e, b;
                Measured? o = null;
                if (pair % 2 == 0)
                {
                    e = await MeasureAsync(echo, "echo", concurrency, echoCall);
                    b = await MeasureAsync(silo.Process, name, concurrency, brokerCall);
                    if (against is not null) o = await MeasureAsync(against.Process, name, concurrency, againstCall!);
                }
                else
                {
                    if (against is not null) o = await MeasureAsync(against.Process, name, concurrency, againstCall!);
                    b = await MeasureAsync(silo.Process, name, concurrency, brokerCall);
                    e = await MeasureAsync(echo, "echo", concurrency, echoCall);
                }
                // The echo again, held to the calls per second the broker answered: a server that is not saturated spends
                // more per call the fewer calls each wake-up finds, so at its own faster pace the echo also batched more.
                var rate = b.Load.Throughput;
                var m = await MeasureAsync(echo, () => LoadGenerator.PacedAsync("echo", concurrency, rate, options.StepDuration, echoCall));
                pairs.Add((e, b, o, m));
            }
            section.Rows.Add([
                concurrency.ToString(),
                Report.Spread(pairs.Select(p => p.Broker.Load.Throughput / p.Echo.Load.Throughput)),
                Report.Spread(pairs.Select(p => p.Broker.CpuPerCallUs), 1),
                Report.Spread(pairs.Select(p => p.Echo.CpuPerCallUs), 1),
                Report.Spread(pairs.Select(p => p.Broker.CpuPerCallUs / p.Echo.CpuPerCallUs)),
                Report.Spread(pairs.Select(p => p.Matched.CpuPerCallUs), 1),
                Report.Spread(pairs.Select(p => p.Broker.CpuPerCallUs / p.Matched.CpuPerCallUs)),
                Report.Spread(pairs.Select(p => p.Matched.Load.Throughput / p.Broker.Load.Throughput)),
                Report.Spread(pairs.Select(p => p.Broker.Load.P99Ms), 3),
                Report.Spread(pairs.Select(p => p.Echo.Load.P99Ms), 3),
                Report.Spread(pairs.Select(p => p.Broker.Load.P99Ms / p.Echo.Load.P99Ms)),
                pairs.Sum(p => p.Broker.Load.Failures + p.Echo.Load.Failures + p.Matched.Load.Failures).ToString(),
            ]);
            section.Figures[$"c{concurrency}"] = pairs.Select(p => new { echo = p.Echo, broker = p.Broker, echoAtBrokerRate = p.Matched }).ToList();
            section.Notes.Add($"c{concurrency} threads per call, medians: broker {ThreadsOf(pairs.Select(p => p.Broker))}; echo {ThreadsOf(pairs.Select(p => p.Echo))}; echo at the broker's rate {ThreadsOf(pairs.Select(p => p.Matched))}");
            if (versus is null) continue;
            versus.Rows.Add([
                concurrency.ToString(),
                Report.Spread(pairs.Select(p => p.Broker.CpuPerCallUs), 1),
                Report.Spread(pairs.Select(p => p.Against!.CpuPerCallUs), 1),
                Report.Spread(pairs.Select(p => p.Broker.CpuPerCallUs / p.Against!.CpuPerCallUs)),
                Report.Spread(pairs.Select(p => p.Broker.CpuPerCallUs / p.Echo.CpuPerCallUs)),
                Report.Spread(pairs.Select(p => p.Against!.CpuPerCallUs / p.Echo.CpuPerCallUs)),
                pairs.Sum(p => p.Against!.Load.Failures).ToString(),
            ]);
            versus.Figures[$"c{concurrency}"] = pairs.Select(p => new { broker = p.Broker, against = p.Against }).ToList();
        }
    }

    /// <summary>The size of the broker's reply to one call (the calls are typed per method; their result is read once here).</summary>
    private static async Task<int> ReplyBytesAsync(Func<int, Task> call)
    {
        var task = call(0);
        await task;
        return task.GetType().GetProperty(nameof(Task<int>.Result))?.GetValue(task) is Google.Protobuf.IMessage reply ? reply.CalculateSize() : 0;
    }

    /// <summary>
    /// Loads <paramref name="server"/> in steps at the highest concurrency until a step compiles fewer than
    /// <see cref="SettledCode"/> code bodies (its perf map grows no more), at most <see cref="PinnedOptions.CompilerSettleLimit"/>.
    /// Between steps the server idles a moment, so the tiered compiler's background thread, which competes with every
    /// request thread for the one core while under load, can work through what it has queued.
    /// </summary>
    private async Task<string> SettleCompilerAsync(string name, ServerProcess server, Func<int, Task> call)
    {
        if (options.CompilerSettleLimit <= TimeSpan.Zero || server.CompiledCode is not { } before) return $"{name} not watched";
        var started = Stopwatch.GetTimestamp();
        var step = TimeSpan.FromSeconds(Math.Min(5, options.CompilerSettleLimit.TotalSeconds));
        int grown;
        do
        {
            await server.SettleAsync(TimeSpan.FromSeconds(2));
            var start = server.CompiledCode ?? 0;
            await LoadGenerator.ClosedLoopAsync("warm", options.Concurrency.Max(), step, call);
            grown = (server.CompiledCode ?? 0) - start;
        }
        while (grown >= SettledCode && Stopwatch.GetElapsedTime(started) < options.CompilerSettleLimit);
        var total = server.CompiledCode ?? 0;
        return $"{name} {total:N0} code bodies, {total - before:N0} of them in {Stopwatch.GetElapsedTime(started).TotalSeconds:F0} s more" +
            (grown >= SettledCode ? $", still {grown} in the last step (limit reached)" : $", {grown} in the last step");
    }

    /// <summary>A step of load that compiles fewer code bodies than this finds the server's compiler settled.</summary>
    private const int SettledCode = 10;

    private Task<Measured> MeasureAsync(ServerProcess server, string name, int concurrency, Func<int, Task> call) =>
        MeasureAsync(server, () => LoadGenerator.ClosedLoopAsync(name, concurrency, options.StepDuration, call));

    private async Task<Measured> MeasureAsync(ServerProcess server, Func<Task<LoadResult>> generate)
    {
        var threads = server.Threads;
        var before = server.CpuTime;
        var load = await generate();
        var cpu = server.CpuTime - before;
        var calls = Math.Max(1, load.Calls + load.Failures);
        return new Measured(load, cpu.TotalMicroseconds / calls, server.Threads.Since(threads, calls));
    }

    public sealed record Measured(LoadResult Load, double CpuPerCallUs, IReadOnlyDictionary<string, ThreadShare> Threads);

    /// <summary>
    /// "kind cpu/switches" per call for the kinds of thread that used the most CPU, medians over the pairs, and how many
    /// threads of the kind there were: where a server's CPU per call went, and how often its core switched threads per call.
    /// </summary>
    private static string ThreadsOf(IEnumerable<Measured> measured)
    {
        var all = measured.ToList();
        var kinds = all.SelectMany(m => m.Threads.Keys).Distinct()
            .Select(kind => (Kind: kind,
                Cpu: Report.Median(all.Select(m => m.Threads.TryGetValue(kind, out var s) ? s.CpuPerCallUs : 0)),
                Switches: Report.Median(all.Select(m => m.Threads.TryGetValue(kind, out var s) ? s.SwitchesPerCall : 0)),
                Count: CountOf(all.Select(m => m.Threads.TryGetValue(kind, out var s) ? s.Threads : 0))))
            .OrderByDescending(k => k.Cpu).ToList();
        var switches = Report.Median(all.Select(m => m.Threads.Values.Sum(s => s.SwitchesPerCall)));
        return $"switches/call {Report.F(switches)}; " + string.Join(", ", kinds.Take(4).Select(k => $"'{k.Kind}' {Report.F(k.Cpu, 1)} us {Report.F(k.Switches)} sw x{k.Count}"));

        // How many threads of the kind each measurement had: "2", or "1-3" when the pairs differed.
        static string CountOf(IEnumerable<int> counts)
        {
            var list = counts.ToList();
            return list.Min() == list.Max() ? $"{list.Min()}" : $"{list.Min()}-{list.Max()}";
        }
    }

    /// <summary>
    /// What both servers get alike: the same processor count, GC mode and thread-pool spinning. The silo ships with no
    /// spinning (Broker.Silo.csproj); the echo gets the same (or both the --spin-limit asked for), so the ratio compares
    /// the work done per call, not runtime settings (with spinning, the echo alone took twice the CPU per call at c8).
    /// And a perf map each, written only when code is compiled, so the warm-up can see when their compilers settle;
    /// with --no-hill-climbing, thread pools that keep their threads; with --pool-workers, as many workers for both.
    /// </summary>
    private Dictionary<string, string> ServerEnvironment()
    {
        var environment = new Dictionary<string, string>
        {
            ["DOTNET_PROCESSOR_COUNT"] = options.ServerProcessorCount.ToString(),
            ["DOTNET_gcServer"] = "1",
            ["DOTNET_ThreadPool_UnfairSemaphoreSpinLimit"] = options.SpinLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [ServerProcess.PerfMapEnvironment.Key] = ServerProcess.PerfMapEnvironment.Value,
        };
        if (!options.ServerHillClimbing) environment["DOTNET_HillClimbing_Disable"] = "1";
        if (options.PoolWorkers is { } workers) environment["DOTNET_ThreadPool_ForceMinWorkerThreads"] = workers.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return environment;
    }
}
