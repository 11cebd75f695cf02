using System.Collections.Concurrent;
using Broker.Abstractions.Tokens;
using Broker.Grains.Families;

namespace Broker.Silo.Api;

/// <summary>
/// This silo's copies of the access tokens families leased to it (<see cref="AccessTokenResult.Lease"/>), so that a
/// cache hit takes no grain call. A copy is served only within its lease, timed from before the grain was asked (so
/// it ends no later than the family's own count, which every change to the family waits out), and only when it is
/// fresh enough for the caller by the family's own rule (<see cref="TokenLifetime"/>).
/// </summary>
public sealed class ServedTokenCache<TKey>(TimeProvider time, int capacity = ServedTokenCache.DefaultCapacity) where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, Entry> _entries = new();

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

public static class ServedTokenCache
{
    /// <summary>Copies a silo keeps at most (a few hundred bytes each).</summary>
    public const int DefaultCapacity = 100_000;
}
