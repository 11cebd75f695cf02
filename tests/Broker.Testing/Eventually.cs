using System.Diagnostics;

namespace Broker.Testing;

/// <summary>Bounded waits: a condition that never comes true fails the test with what was awaited, instead of hanging.</summary>
public static class Eventually
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Polls every 20 ms until the condition holds; throws a <see cref="TimeoutException"/> naming it after the timeout.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > limit) throw new TimeoutException($"waited {limit.TotalSeconds:0.#} s for {what}");
            await Task.Delay(20);
        }
    }

    /// <summary>The same for a condition that needs I/O to check; polls every 100 ms.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > limit) throw new TimeoutException($"waited {limit.TotalSeconds:0.#} s for {what}");
            await Task.Delay(100);
        }
    }
}
