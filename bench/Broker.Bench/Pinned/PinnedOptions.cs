namespace Broker.Bench.Pinned;

/// <summary>How the two-process comparison runs: which cores serve, which load, how many alternated pairs.</summary>
public sealed record PinnedOptions
{
    /// <summary>taskset core list for every server process (the echo, the silo).</summary>
    public string ServerCores { get; init; } = "0";

    /// <summary>Cores this process (the load generator and the test authorization server) is pinned to.</summary>
    public string LoadCores { get; init; } = "1";

    /// <summary>Echo/broker measurements alternated per concurrency level; medians and ranges over them.</summary>
    public int Pairs { get; init; } = 3;

    public TimeSpan StepDuration { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Load before measuring, spread over the levels, until the hot path is tier-1 code in both servers: with 3 s the
    /// first level measured showed four times its steady CPU per call. With 15 s, perf of the silo in the first measured
    /// pair still found 30 % of its samples in tier-0 and instrumented code and none in tier 1 (the silo's JIT map gained
    /// most of its tier-1 methods 30-40 s after start, under this load); the echo, far less code, is warm much sooner.
    /// </summary>
    public TimeSpan WarmUp { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// After <see cref="WarmUp"/>, each server is loaded on in steps until a step compiles (almost) no more code, at most
    /// this long: perf of a measured pair after the full warm-up still found 29 % of the silo's tier-named frames and 63 %
    /// of the echo's in instrumented code (dynamic PGO's middle tier) in one run and almost none in another, a difference between runs
    /// larger than the one being measured. Zero: no such wait.
    /// </summary>
    public TimeSpan CompilerSettleLimit { get; init; } = TimeSpan.FromSeconds(120);
    public int[] Concurrency { get; init; } = [1, 8, 32, 128];
    public int Families { get; init; } = 16;

    /// <summary>What to measure: cache (GetAccessToken), client (GetClientToken), proof (CreateProof), storm.</summary>
    public string[] Scenarios { get; init; } = ["cache", "client", "proof", "storm"];

    /// <summary>The storm: families whose tokens expired, and callers released at once on them (the 50 and 2,000).</summary>
    public int StormFamilies { get; init; } = 50;
    public int StormCallers { get; init; } = 2000;

    /// <summary>
    /// Unmeasured storm rounds first: a perf profile of a fresh silo's storms showed half its samples on the tiered
    /// compiler's thread, promoting the refresh path's methods through their tiers round after round; the silo's CPU
    /// per storm fell from 740 to 150 ms over the first eight rounds. A storm in production hits a silo long warm.
    /// </summary>
    public int StormWarmUpRounds { get; init; } = 8;

    /// <summary>The silo build to measure; null: this repository's Release build.</summary>
    public string? SiloDll { get; init; }

    /// <summary>
    /// The thread pool's spin limit both servers run with: 0 (no spinning) as the silo ships; 70 is the runtime's default,
    /// for the comparison with spinning.
    /// </summary>
    public int SpinLimit { get; init; }

    /// <summary>
    /// Whether both servers' thread pools add and remove threads as the runtime does by default. The threads' context
    /// switches per call (see the section notes) showed the echo at concurrency 8 with 2 to 5 pool threads from pair to
    /// pair of one run (2026-12-07 05:28) and 0.3 to 2.6 switches per call, its CPU per call 10.4 to 22.9 us with them:
    /// the baseline moved, not the broker.
    /// Off: each keeps the threads it started with, the same rule for both.
    /// </summary>
    public bool HillClimbing { get; init; } = true;

    /// <summary>
    /// Both servers' pools start with this many workers and keep them (hill climbing off), so that both run on the same
    /// number of threads: with hill climbing off alone each keeps what it started with, which was not the same (the echo
    /// two, the silo one, 2026-12-07 10:51). Null: the runtime's minimum.
    /// </summary>
    public int? PoolWorkers { get; init; }

    /// <summary>Whether the servers run the runtime's hill climbing: not when it is turned off, nor when the pool is held.</summary>
    public bool ServerHillClimbing => HillClimbing && PoolWorkers is null;

    /// <summary>Another silo build measured in the same pairs as <see cref="SiloDll"/>: a before/after that the machine's drift between runs cannot blur.</summary>
    public string? AgainstSiloDll { get; init; }

    public static PinnedOptions Smoke => new() { Pairs = 1, WarmUp = TimeSpan.Zero, CompilerSettleLimit = TimeSpan.Zero, StepDuration = TimeSpan.FromMilliseconds(300), Concurrency = [2], Families = 2,
        StormFamilies = 2, StormCallers = 10, StormWarmUpRounds = 1 };

    /// <summary>The processor count the servers are told, the same for both: the number of server cores.</summary>
    public int ServerProcessorCount => CoreList(ServerCores).Count;

    public static IReadOnlyList<int> CoreList(string cores) => [.. cores.Split(',').SelectMany(part =>
    {
        var range = part.Split('-');
        var first = int.Parse(range[0]);
        return Enumerable.Range(first, range.Length == 1 ? 1 : int.Parse(range[1]) - first + 1);
    })];
}
