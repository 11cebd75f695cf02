namespace Broker.Bench.Load;

/// <summary>What one load run measured.</summary>
public sealed record LoadResult(string Name, int Concurrency, long Calls, long Failures, double Seconds, double P50Ms, double P90Ms, double P99Ms, double P999Ms)
{
    public double Throughput => Calls / Seconds;

    public static LoadResult From(string name, int concurrency, List<long> latencyTicks, long failures, double seconds)
    {
        latencyTicks.Sort();
        double At(double q) => latencyTicks.Count == 0 ? 0
            : latencyTicks[Math.Min(latencyTicks.Count - 1, (int)Math.Ceiling(q * latencyTicks.Count) - 1)] * 1000.0 / System.Diagnostics.Stopwatch.Frequency;
        return new LoadResult(name, concurrency, latencyTicks.Count, failures, seconds, At(0.5), At(0.9), At(0.99), At(0.999));
    }
}
