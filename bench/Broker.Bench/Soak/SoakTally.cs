using System.Collections.Concurrent;

namespace Broker.Bench.Soak;

/// <summary>Calls and failed calls of one report interval, by cause (gRPC status/reason) and by silo.</summary>
public sealed class SoakTally
{
    private long _calls;
    private long _failures;
    private long _shed;

    public long Calls => Interlocked.Read(ref _calls);
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Calls the load generator did not start because too many were in flight (the cluster fell behind).</summary>
    public long Shed => Interlocked.Read(ref _shed);

    public ConcurrentDictionary<string, long> FailuresByCause { get; } = new();
    public ConcurrentDictionary<string, long> CallsBySilo { get; } = new();
    public ConcurrentDictionary<string, long> FailuresBySilo { get; } = new();

    public void Succeeded(string silo)
    {
        Interlocked.Increment(ref _calls);
        CallsBySilo.AddOrUpdate(silo, 1, (_, n) => n + 1);
    }

    public void Failed(string silo, string cause)
    {
        Interlocked.Increment(ref _calls);
        Interlocked.Increment(ref _failures);
        CallsBySilo.AddOrUpdate(silo, 1, (_, n) => n + 1);
        FailuresBySilo.AddOrUpdate(silo, 1, (_, n) => n + 1);
        FailuresByCause.AddOrUpdate(cause, 1, (_, n) => n + 1);
    }

    public void WasShed() => Interlocked.Increment(ref _shed);

    public void Add(SoakTally other)
    {
        Interlocked.Add(ref _calls, other.Calls);
        Interlocked.Add(ref _failures, other.Failures);
        Interlocked.Add(ref _shed, other.Shed);
        foreach (var (k, v) in other.FailuresByCause) FailuresByCause.AddOrUpdate(k, v, (_, n) => n + v);
        foreach (var (k, v) in other.CallsBySilo) CallsBySilo.AddOrUpdate(k, v, (_, n) => n + v);
        foreach (var (k, v) in other.FailuresBySilo) FailuresBySilo.AddOrUpdate(k, v, (_, n) => n + v);
    }
}
