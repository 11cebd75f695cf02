using Broker.Bench.Load;

namespace Broker.Bench.Tests.Load;

public sealed class LoadGeneratorTests
{
    [Fact]
    public async Task Paced_callers_never_run_ahead_of_their_schedule()
    {
        // Calls that answer at once: closed-loop callers would make hundreds of thousands in this time.
        const double rate = 400;
        var duration = TimeSpan.FromMilliseconds(500);
        var slots = new System.Collections.Concurrent.ConcurrentBag<int>();

        var result = await LoadGenerator.PacedAsync("paced", concurrency: 8, rate, duration, slot => { slots.Add(slot); return Task.CompletedTask; });

        // A slot goes at its time or at most a millisecond early, and none after the end: the schedule's count bounds the calls.
        Assert.InRange(result.Calls, 1, (long)(rate * (duration.TotalSeconds + 0.001)) + 1);
        Assert.Equal(result.Calls, slots.Count);
        Assert.Equal(slots.Count, slots.Distinct().Count()); // each slot called once
        Assert.Equal(0, result.Failures);
    }
}
