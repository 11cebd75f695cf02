using Broker.Bench.Pinned;

namespace Broker.Bench.Tests.Pinned;

public sealed class ThreadTimesTests
{
    [Fact]
    public void A_thread_started_in_the_window_is_counted_under_its_name_with_its_cpu_and_switches()
    {
        const string name = "threadtimes-prb"; // 15 characters: Linux keeps no more of a thread's name
        var before = ThreadTimes.Of(Environment.ProcessId);
        using var worked = new ManualResetEventSlim();
        using var read = new ManualResetEventSlim();
        var probe = new Thread(() =>
        {
            // Sleeping a few times (voluntary switches), then busy for a while (CPU time comes in ticks of 10 ms); it
            // stays alive until read, since an ended thread's time is no longer in /proc/{pid}/task.
            for (var i = 0; i < 5; i++) Thread.Sleep(5);
            var spin = System.Diagnostics.Stopwatch.StartNew();
            var x = 0L;
            while (spin.ElapsedMilliseconds < 300) x += spin.ElapsedTicks % 7;
            GC.KeepAlive(x);
            worked.Set();
            read.Wait();
        }) { Name = name };
        probe.Start();
        worked.Wait();
        var shares = ThreadTimes.Of(Environment.ProcessId).Since(before, calls: 10);
        read.Set();
        probe.Join();

        var share = Assert.Contains(name, shares);
        Assert.Equal(1, share.Threads);
        Assert.True(share.CpuPerCallUs > 0, "the probe's CPU time was read");
        Assert.True(share.SwitchesPerCall > 0, "the probe's context switches were read");
    }

    [Fact]
    public void Threads_that_did_nothing_in_the_window_are_left_out()
    {
        var sleeper = new Thread(() => Thread.Sleep(Timeout.Infinite)) { Name = "threadtimes-idl", IsBackground = true };
        sleeper.Start();
        Thread.Sleep(50);
        var before = ThreadTimes.Of(Environment.ProcessId);
        var after = ThreadTimes.Of(Environment.ProcessId);

        Assert.DoesNotContain("threadtimes-idl", after.Since(before, 1).Keys);
    }
}
