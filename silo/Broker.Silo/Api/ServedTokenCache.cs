using System.Collections.Concurrent;
using Broker.Abstractions.Tokens;
using Broker.Grains.Families;

namespace Broker.Silo.Api;

/// <summary>
/// This silo's copies of the access tokens families leased to it (<see cref="AccessTokenResult.Lease"/>), so that a
/// cache hit takes no grain call. A copy is served only within its lease, timed from before the grain was asked (so
/// it ends no later than the family's own count, which every change to the family waits out), and only when it is
/// fresh enough for the caller by the family's own rule (<see cref="TokenLifetime"/>). Misses on one key ask the grain
/// once at a time (<see cref="LeaseAsync"/>).
/// </summary>
public sealed class ServedTokenCache<TKey>(TimeProvider time, int capacity = ServedTokenCache.DefaultCapacity) where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, Entry> _entries = new();
    private readonly ConcurrentDictionary<TKey, Task<AccessTokenResult>> _leasing = new();

    /// <summary>A timestamp to pass to <see cref="Put"/>: take it before the grain call.</summary>
    public long Start() => time.GetTimestamp();

    public bool TryGet(TKey key, TimeSpan minTimeToLive, out AccessTokenResult token)
    {
        token = null!;
        if (!_entries.TryGetValue(key, out var entry)) return false;
        if (time.GetElapsedTime(entry.Started) >= entry.Token.Lease)
        {
            _entries.TryRemove(KeyValuePair.Create(key, entry));
            return false;
        }
        if (!TokenLifetime.IsFreshEnough(entry.Token.IssuedAt, entry.Token.ExpiresAt, time.GetUtcNow(), minTimeToLive)) return false;
        token = entry.Served;
        return true;
    }

    /// <summary>Keeps a leased token, timed from <paramref name="started"/> (<see cref="Start"/>, before the call).</summary>
    public void Put(TKey key, AccessTokenResult token, long started)
    {
        if (token.Lease <= TimeSpan.Zero || time.GetElapsedTime(started) >= token.Lease) return;
        // Bounded: past the capacity, expired copies go first; if none has, this one is simply not kept.
        if (_entries.Count >= capacity && !_entries.ContainsKey(key) && Sweep() == 0) return;
        _entries[key] = new Entry(token, token.Source == TokenSource.Cache ? token : token with { Source = TokenSource.Cache }, started);
    }

    /// <summary>
    /// A miss: asks the grain through <paramref name="lease"/> and keeps the copy, unless a lease on this key is already
    /// being asked for. Then the caller waits for that one and is served as a hit, from the copy it left: so within its
    /// lease and only if fresh enough for this caller, which keeps every rule of <see cref="TryGet"/>. A refresh that
    /// outlasts the lease leaves no copy (the lease is counted from before the call): the waiters then wait for one more
    /// call, which one of them makes and which the grain answers at once. A caller still not served (not fresh enough,
    /// the calls failed or were cancelled) asks the grain itself; the grain charges its budget and answers its errors as
    /// before. A refresh storm on a silo becomes one or two grain calls per family.
    /// </summary>
    public async Task<LeasedToken> LeaseAsync(TKey key, TimeSpan minTimeToLive, Func<Task<AccessTokenResult>> lease, CancellationToken cancellationToken)
    {
        for (var wait = 0; wait < MaxWaits; wait++)
        {
            var mine = new TaskCompletionSource<AccessTokenResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_leasing.TryAdd(key, mine.Task)) return await LeadAsync(key, minTimeToLive, lease, mine);
            if (_leasing.TryGetValue(key, out var asked))
            {
                try
                {
                    await asked.WaitAsync(cancellationToken);
                }
                catch (Exception) when (!cancellationToken.IsCancellationRequested)
                {
                    // The other caller's failure is not this caller's answer.
                }
            }
            if (TryGet(key, minTimeToLive, out var shared)) return new LeasedToken(shared, Shared: true);
        }
        return new LeasedToken(await AskAsync(key, lease), Shared: false);
    }

    // The refresh itself, then the call that finds it done: a waiter waits for at most these two before asking itself.
    private const int MaxWaits = 2;

    private async Task<LeasedToken> LeadAsync(TKey key, TimeSpan minTimeToLive, Func<Task<AccessTokenResult>> lease, TaskCompletionSource<AccessTokenResult> mine)
    {
        // Out of the map before it completes: a waiter it wakes must not find it again and take it for the next call.
        LeasedToken leased;
        try
        {
            // A call that ended just now (it is no longer in flight) may have left a copy this caller can take.
            var wasKept = TryGet(key, minTimeToLive, out var kept);
            leased = new LeasedToken(wasKept ? kept : await AskAsync(key, lease), wasKept);
        }
        catch (Exception ex)
        {
            _leasing.TryRemove(KeyValuePair.Create(key, mine.Task));
            mine.SetException(ex);
            _ = mine.Task.Exception; // observed here: the waiters, if any, ask for themselves
            throw;
        }
        _leasing.TryRemove(KeyValuePair.Create(key, mine.Task));
        mine.SetResult(leased.Token);
        return leased;
    }

    private async Task<AccessTokenResult> AskAsync(TKey key, Func<Task<AccessTokenResult>> lease)
    {
        var started = Start();
        var token = await lease();
        Put(key, token, started);
        return token;
    }

    /// <summary>Drops this silo's copy (the family waits out the leases anyway: this only spares a needless hit).</summary>
    public void Remove(TKey key) => _entries.TryRemove(key, out _);

    public int Count => _entries.Count;

    private int Sweep()
    {
        var removed = 0;
        foreach (var (key, entry) in _entries)
        {
            if (time.GetElapsedTime(entry.Started) >= entry.Token.Lease && _entries.TryRemove(KeyValuePair.Create(key, entry))) removed++;
        }
        return removed;
    }

    private sealed record Entry(AccessTokenResult Token, AccessTokenResult Served, long Started);
}

/// <summary>A token <see cref="ServedTokenCache{TKey}.LeaseAsync"/> got: from the grain, or shared from another caller's call.</summary>
public readonly record struct LeasedToken(AccessTokenResult Token, bool Shared);

public static class ServedTokenCache
{
    /// <summary>Copies a silo keeps at most (a few hundred bytes each).</summary>
    public const int DefaultCapacity = 100_000;
}
