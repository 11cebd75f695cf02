namespace Broker.Bench;

public sealed record BenchOptions
{
    public string[] Scenarios { get; init; } = ["cache", "client", "storm", "cold", "scale", "parts"];
    public TimeSpan StepDuration { get; init; } = TimeSpan.FromSeconds(5);
    public int[] Concurrency { get; init; } = [1, 8, 32, 128];
    public int CacheFamilies { get; init; } = 1000;
    public int StormFamilies { get; init; } = 50;
    public int StormCallers { get; init; } = 2000;
    public int ColdFamilies { get; init; } = 500;
    public int[] ScaleFamilies { get; init; } = [100_000];

    /// <summary>Iterations per round of each timed part of a cache hit (parts).</summary>
    public int PartIterations { get; init; } = 2_000_000;

    /// <summary>Families imported then revoked in the events scenario (two events each); not in the default run, it starts three silos.</summary>
    public int EventFamilies { get; init; } = 200;

    /// <summary>Sizes for the smoke run in the test suite: every scenario, seconds in all.</summary>
    public static BenchOptions Smoke => new()
    {
        StepDuration = TimeSpan.FromMilliseconds(300),
        Concurrency = [1, 4],
        CacheFamilies = 20,
        StormFamilies = 3,
        StormCallers = 30,
        ColdFamilies = 5,
        ScaleFamilies = [200],
        EventFamilies = 10,
        PartIterations = 1_000,
    };
}
