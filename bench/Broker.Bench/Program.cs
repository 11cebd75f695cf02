using System.CommandLine;
using Broker.Bench;

// dotnet run -c Release --project bench/Broker.Bench -- [--scenarios cache,client,storm,cold,scale,parts,events] [--json out.json] ...
// dotnet run -c Release --project bench/Broker.Bench -- --pinned [--server-cores 0] [--load-cores 1] [--pairs 3] ...
// dotnet run -c Release --project bench/Broker.Bench -- --soak [--minutes 60] [--families 300] [--token-lifetime 180] [--reuse-leeway 30] [--json soak.json]
if (args is ["serve-echo", "--port", var echoPort])
{
    await Broker.Bench.Echo.EchoServer.RunAsync(int.Parse(echoPort));
    return 0;
}
// The soak's authorization server in a process of its own (bench/Broker.Bench/Soak/AuthorizationServerHost.cs).
if (args is ["serve-auth", var accessSeconds, var refreshSeconds, var leewaySeconds])
{
    static TimeSpan Seconds(string value) => TimeSpan.FromSeconds(double.Parse(value, System.Globalization.CultureInfo.InvariantCulture));
    return await Broker.Bench.Soak.AuthorizationServerHost.RunAsync(Seconds(accessSeconds), Seconds(refreshSeconds), Seconds(leewaySeconds));
}
var defaults = new BenchOptions();
var pinnedDefaults = new Broker.Bench.Pinned.PinnedOptions();
var scenarios = new Option<string>("--scenarios") { Description = "comma-separated: cache, client, storm, cold, scale, parts, events", DefaultValueFactory = _ => string.Join(',', defaults.Scenarios) };
var seconds = new Option<double>("--seconds") { Description = "seconds per load step", DefaultValueFactory = _ => defaults.StepDuration.TotalSeconds };
var concurrency = new Option<string>("--concurrency") { Description = "comma-separated caller counts", DefaultValueFactory = _ => string.Join(',', defaults.Concurrency) };
var families = new Option<int>("--families") { Description = "families for the cache-hit scenario", DefaultValueFactory = _ => defaults.CacheFamilies };
var stormFamilies = new Option<int>("--storm-families") { DefaultValueFactory = _ => defaults.StormFamilies };
var stormCallers = new Option<int>("--storm-callers") { DefaultValueFactory = _ => defaults.StormCallers };
var stormWarmUp = new Option<int>("--storm-warmup") { Description = "unmeasured storm rounds before the measured ones (pinned)", DefaultValueFactory = _ => pinnedDefaults.StormWarmUpRounds };
var coldFamilies = new Option<int>("--cold-families") { DefaultValueFactory = _ => defaults.ColdFamilies };
var scaleFamilies = new Option<string>("--scale-families") { Description = "comma-separated, e.g. 100000,1000000", DefaultValueFactory = _ => string.Join(',', defaults.ScaleFamilies) };
var eventFamilies = new Option<int>("--event-families") { Description = "events: families imported then revoked (two events each)", DefaultValueFactory = _ => defaults.EventFamilies };
var json = new Option<FileInfo?>("--json") { Description = "also write the results as JSON to this file" };
var smoke = new Option<bool>("--smoke") { Description = "tiny sizes: checks that every scenario runs, measures nothing worth quoting" };
var pinned = new Option<bool>("--pinned") { Description = "cache hits of a Broker.Silo process against an echo process, each pinned to --server-cores, load from --load-cores" };
var serverCores = new Option<string>("--server-cores") { DefaultValueFactory = _ => pinnedDefaults.ServerCores };
var loadCores = new Option<string>("--load-cores") { DefaultValueFactory = _ => pinnedDefaults.LoadCores };
var silo = new Option<string?>("--silo") { Description = "the Broker.Silo.dll to measure (pinned; default: this repository's Release build); an older build's gives a before/after in one run" };
var against = new Option<string?>("--against") { Description = "another Broker.Silo.dll measured in the same pairs as the silo (pinned): a before/after in one run, each pair's ratio" };
var spinLimit = new Option<int>("--spin-limit") { Description = "the thread pool's spin limit of both servers (pinned): 0 as the silo ships, 70 the runtime's default", DefaultValueFactory = _ => pinnedDefaults.SpinLimit };
var noHillClimbing = new Option<bool>("--no-hill-climbing") { Description = "both servers' thread pools keep the threads they have (pinned): no hill climbing, which moves the echo's CPU per call at low concurrency between runs" };
var poolWorkers = new Option<int?>("--pool-workers") { Description = "both servers' thread pools hold this many workers (pinned): the minimum, and no hill climbing" };
poolWorkers.Validators.Add(result =>
{
    if (result.GetValueOrDefault<int?>() is < 1) result.AddError("--pool-workers must be at least 1.");
});
var pinnedScenarios = new Option<string>("--pinned-scenarios") { Description = "comma-separated (pinned): cache, client, proof, storm", DefaultValueFactory = _ => string.Join(',', pinnedDefaults.Scenarios) };
var warmUp = new Option<double>("--warm-up") { Description = "seconds of unmeasured load per server before the pinned measurements, spread over the levels", DefaultValueFactory = _ => pinnedDefaults.WarmUp.TotalSeconds };
var pairs = new Option<int>("--pairs") { Description = "alternated echo/broker pairs per concurrency (pinned)", DefaultValueFactory = _ => pinnedDefaults.Pairs };
var soakDefaults = new Broker.Bench.Soak.SoakOptions();
var soak = new Option<bool>("--soak") { Description = "three silo processes on PostgreSQL and Redis through churn and outages (see docs/reliability.md); --families defaults to 300 here" };
var minutes = new Option<double>("--minutes") { Description = "soak duration", DefaultValueFactory = _ => soakDefaults.Duration.TotalMinutes };
var reuseLeeway = new Option<double>("--reuse-leeway") { Description = "soak: refresh token reuse leeway at the server and the broker, seconds (0: none)", DefaultValueFactory = _ => soakDefaults.ReuseLeeway.TotalSeconds };
var tokenLifetime = new Option<double>("--token-lifetime") { Description = "soak: access token lifetime at the authorization server, seconds", DefaultValueFactory = _ => soakDefaults.AccessTokenLifetime.TotalSeconds };

var root = new RootCommand("Broker benchmarks: throughput and latency against a bare gRPC echo, refresh storms, cold starts, state size.")
{
    scenarios, seconds, concurrency, families, stormFamilies, stormCallers, coldFamilies, scaleFamilies, eventFamilies, json, smoke,
    pinned, serverCores, loadCores, pinnedScenarios, pairs, warmUp, silo, against, spinLimit, noHillClimbing, poolWorkers, stormWarmUp, soak, minutes, tokenLifetime, reuseLeeway,
};
root.SetAction(async (ParseResult parsed, CancellationToken cancellationToken) =>
{
    static int[] Ints(string value) => [.. value.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse)];
    if (parsed.GetValue(soak))
    {
        var duration = TimeSpan.FromMinutes(parsed.GetValue(minutes));
        var soakOptions = soakDefaults with
        {
            Duration = duration,
            Families = parsed.GetResult(families) is { Implicit: false } ? parsed.GetValue(families) : soakDefaults.Families,
            AccessTokenLifetime = TimeSpan.FromSeconds(parsed.GetValue(tokenLifetime)),
            ReuseLeeway = TimeSpan.FromSeconds(parsed.GetValue(reuseLeeway)),
            // Short runs get report rows short enough to have several.
            Interval = duration < TimeSpan.FromMinutes(10) ? TimeSpan.FromSeconds(Math.Max(10, duration.TotalSeconds / 6)) : soakDefaults.Interval,
        };
        var soakReport = await new Broker.Bench.Soak.SoakRunner(soakOptions, Console.Error).RunAsync();
        Console.WriteLine(soakReport.ToMarkdown());
        if (parsed.GetValue(json) is { } soakFile) await File.WriteAllTextAsync(soakFile.FullName, soakReport.ToJson(), cancellationToken);
        // The invariants: no family lost or stuck, no grant revoked by a reuse, no second refresh for one expiry.
        return soakReport.FamiliesLost.Count + soakReport.FamiliesStuck.Count == 0 && soakReport.Rejections == 0
            && soakReport.ExtraRefreshes.Count == 0 ? 0 : 1;
    }
    if (parsed.GetValue(pinned))
    {
        var pinnedOptions = parsed.GetValue(smoke) ? Broker.Bench.Pinned.PinnedOptions.Smoke : new Broker.Bench.Pinned.PinnedOptions
        {
            ServerCores = parsed.GetValue(serverCores)!,
            LoadCores = parsed.GetValue(loadCores)!,
            Pairs = parsed.GetValue(pairs),
            StepDuration = TimeSpan.FromSeconds(parsed.GetValue(seconds)),
            WarmUp = TimeSpan.FromSeconds(parsed.GetValue(warmUp)),
            Concurrency = Ints(parsed.GetValue(concurrency)!),
            SiloDll = parsed.GetValue(silo),
            AgainstSiloDll = parsed.GetValue(against),
            SpinLimit = parsed.GetValue(spinLimit),
            HillClimbing = !parsed.GetValue(noHillClimbing),
            PoolWorkers = parsed.GetValue(poolWorkers),
            Scenarios = parsed.GetValue(pinnedScenarios)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            StormFamilies = parsed.GetValue(stormFamilies),
            StormCallers = parsed.GetValue(stormCallers),
            StormWarmUpRounds = parsed.GetValue(stormWarmUp),
        };
        var pinnedReport = await new Broker.Bench.Pinned.PinnedRunner(pinnedOptions, Console.Error).RunAsync();
        Console.WriteLine(pinnedReport.ToTable());
        if (parsed.GetValue(json) is { } pinnedFile) await File.WriteAllTextAsync(pinnedFile.FullName, pinnedReport.ToJson(), cancellationToken);
        return 0;
    }
    var options = parsed.GetValue(smoke) ? BenchOptions.Smoke : new BenchOptions
    {
        StepDuration = TimeSpan.FromSeconds(parsed.GetValue(seconds)),
        Concurrency = Ints(parsed.GetValue(concurrency)!),
        CacheFamilies = parsed.GetValue(families),
        StormFamilies = parsed.GetValue(stormFamilies),
        StormCallers = parsed.GetValue(stormCallers),
        ColdFamilies = parsed.GetValue(coldFamilies),
        ScaleFamilies = Ints(parsed.GetValue(scaleFamilies)!),
        EventFamilies = parsed.GetValue(eventFamilies),
    };
    options = options with { Scenarios = parsed.GetValue(scenarios)!.Split(',', StringSplitOptions.RemoveEmptyEntries) };

    var report = await new BenchRunner(options, Console.Error).RunAsync();
    Console.WriteLine(report.ToTable());
    if (parsed.GetValue(json) is { } file) await File.WriteAllTextAsync(file.FullName, report.ToJson(), cancellationToken);
    return 0;
});
return await root.Parse(args).InvokeAsync();
