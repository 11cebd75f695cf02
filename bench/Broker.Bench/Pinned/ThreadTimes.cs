namespace Broker.Bench.Pinned;

/// <summary>
/// A server's threads at one moment, from <c>/proc/{pid}/task</c>: each thread's name (the runtime names its threads,
/// ".NET TP Worker", ".NET Server GC", ".NET Tiered Com"), CPU time and context switches. The difference of two says
/// which kind of thread a measured window's CPU went to and how often the one server core switched between them,
/// which the process's total alone cannot tell (a window's CPU per call moves between runs of one build).
/// </summary>
public sealed class ThreadTimes
{
    private readonly Dictionary<int, (string Name, long Ticks, long Switches)> _threads;

    private ThreadTimes(Dictionary<int, (string, long, long)> threads) => _threads = threads;

    public static ThreadTimes Of(int pid)
    {
        var threads = new Dictionary<int, (string, long, long)>();
        foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                long switches = 0;
                foreach (var line in File.ReadLines(Path.Combine(task, "status")))
                {
                    if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal) || line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                        switches += long.Parse(line[(line.IndexOf(':') + 1)..].Trim());
                }
                threads[int.Parse(Path.GetFileName(task))] = (ProcStat.Name(stat), ProcStat.CpuTicks(stat), switches);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The thread ended while it was read: its time is lost either way (see Since).
            }
        }
        return new ThreadTimes(threads);
    }

    /// <summary>
    /// What each kind of thread used between <paramref name="earlier"/> and this, per call: CPU in microseconds and context
    /// switches. A thread that ended in between is missing (its time is in the process's total, not here).
    /// </summary>
    public IReadOnlyDictionary<string, ThreadShare> Since(ThreadTimes earlier, long calls)
    {
        var shares = new Dictionary<string, (long Ticks, long Switches, int Threads)>();
        foreach (var (tid, now) in _threads)
        {
            var before = earlier._threads.TryGetValue(tid, out var was) && was.Name == now.Name ? was : (now.Name, 0L, 0L);
            var ticks = now.Ticks - before.Item2;
            var switches = now.Switches - before.Item3;
            if (ticks == 0 && switches == 0) continue;
            var sum = shares.GetValueOrDefault(now.Name);
            shares[now.Name] = (sum.Ticks + ticks, sum.Switches + switches, sum.Threads + 1);
        }
        var perCall = Math.Max(1, calls);
        return shares.ToDictionary(s => s.Key, s => new ThreadShare(
            s.Value.Ticks / ProcStat.TicksPerSecond * 1e6 / perCall, (double)s.Value.Switches / perCall, s.Value.Threads));
    }
}

/// <summary>One kind of thread's part of a window: CPU us and context switches per call, and how many such threads ran.</summary>
public sealed record ThreadShare(double CpuPerCallUs, double SwitchesPerCall, int Threads);
