using System.Diagnostics;

namespace Broker.Bench.Load;

/// <summary>
/// Closed-loop load (a fixed number of callers, each calling again as soon as it has an answer) and
/// open-loop load (calls started at a fixed rate whatever the answers do, so queueing shows in latency).
/// </summary>
public static class LoadGenerator
{
    public static async Task<LoadResult> ClosedLoopAsync(string name, int concurrency, TimeSpan duration, Func<int, Task> call)
    {
        var latencies = new List<long>[concurrency];
        long failures = 0;
        var clock = Stopwatch.StartNew();
        var end = duration.TotalSeconds * Stopwatch.Frequency;
        var workers = Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
        {
            var mine = latencies[worker] = new List<long>(4096);
            var i = worker;
            while (clock.ElapsedTicks < end)
            {
                var start = Stopwatch.GetTimestamp();
                try
                {
                    await call(i);
                    mine.Add(Stopwatch.GetTimestamp() - start);
                }
                catch (Exception)
                {
                    Interlocked.Increment(ref failures);
                }
                i += concurrency;
            }
        })).ToArray();
        await Task.WhenAll(workers);
        return LoadResult.From(name, concurrency, latencies.SelectMany(l => l).ToList(), failures, clock.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// Closed-loop callers held to <paramref name="callsPerSecond"/> in all: each takes the next slot of one schedule and
    /// waits for its time, so a server that could answer faster is given the same calls per second as a slower one. A
    /// server that cannot keep up gets what the callers can send, as in <see cref="ClosedLoopAsync"/>.
    /// </summary>
    public static async Task<LoadResult> PacedAsync(string name, int concurrency, double callsPerSecond, TimeSpan duration, Func<int, Task> call)
    {
        var latencies = new List<long>[concurrency];
        long failures = 0;
        long slots = 0;
        var clock = Stopwatch.StartNew();
        var end = duration.TotalSeconds * Stopwatch.Frequency;
        var workers = Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
        {
            var mine = latencies[worker] = new List<long>(4096);
            while (clock.ElapsedTicks < end)
            {
                var slot = Interlocked.Increment(ref slots) - 1;
                var wait = TimeSpan.FromSeconds(slot / callsPerSecond) - clock.Elapsed;
                // Timers tick in milliseconds: early by less than one, a call goes now (the schedule, not the timer, keeps the rate).
                if (wait >= TimeSpan.FromMilliseconds(1)) await Task.Delay(wait);
                if (clock.ElapsedTicks >= end) break;
                var start = Stopwatch.GetTimestamp();
                try
                {
                    await call((int)slot);
                    mine.Add(Stopwatch.GetTimestamp() - start);
                }
                catch (Exception)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        })).ToArray();
        await Task.WhenAll(workers);
        return LoadResult.From(name, concurrency, latencies.SelectMany(l => l).ToList(), failures, clock.Elapsed.TotalSeconds);
    }

    public static async Task<LoadResult> OpenLoopAsync(string name, double callsPerSecond, TimeSpan duration, Func<int, Task> call)
    {
        // One slot per scheduled call, written by that call only: no shared collection on the hot path.
        var latencies = new long[(int)(callsPerSecond * duration.TotalSeconds) + 1];
        long failures = 0;
        var inFlight = new List<Task>(latencies.Length);
        var clock = Stopwatch.StartNew();
        var started = 0;
        while (clock.Elapsed < duration)
        {
            var due = Math.Min(latencies.Length, (int)(clock.Elapsed.TotalSeconds * callsPerSecond));
            for (; started < due; started++) inFlight.Add(Fire(started));
            await Task.Delay(1);
        }
        await Task.WhenAll(inFlight);
        return LoadResult.From(name, 0, [.. latencies.Take(started).Where(l => l > 0)], failures, duration.TotalSeconds);

        async Task Fire(int i)
        {
            var start = Stopwatch.GetTimestamp();
            try
            {
                await call(i);
                latencies[i] = Math.Max(1, Stopwatch.GetTimestamp() - start);
            }
            catch (Exception)
            {
                Interlocked.Increment(ref failures);
            }
        }
    }

    /// <summary>Percentiles of a set of samples, in milliseconds.</summary>
    public static (double P50, double P99) Percentiles(IEnumerable<TimeSpan> samples)
    {
        var sorted = samples.Select(s => s.TotalMilliseconds).Order().ToArray();
        if (sorted.Length == 0) return (0, 0);
        double At(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
        return (At(0.5), At(0.99));
    }
}
