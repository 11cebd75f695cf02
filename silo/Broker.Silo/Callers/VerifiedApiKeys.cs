using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Broker.Silo.Callers;

/// <summary>
/// API keys this silo has already matched against a configured hash, so a caller's next call costs a lookup and a
/// constant-time comparison instead of a SHA-256 (2.5 % of a cache hit's CPU). Only keys that matched are kept, never
/// a guess. Entries are found by <see cref="string.GetHashCode()"/>, which is seeded at random per process, so a
/// caller cannot aim a guess at a kept key's entry, and confirmed over the whole key with
/// <see cref="FixedTimeKey"/> (constant time, as <see cref="CryptographicOperations.FixedTimeEquals"/>). Configuration
/// still holds hashes only.
/// </summary>
public sealed class VerifiedApiKeys(int capacity = VerifiedApiKeys.DefaultCapacity)
{
    /// <summary>Keys kept at most: callers have a few each; past it the set starts over.</summary>
    public const int DefaultCapacity = 4096;

    /// <summary>Longer credentials are not kept: real keys are 46 characters.</summary>
    public const int MaxKeyLength = 256;

    private readonly ConcurrentDictionary<int, Entry> _entries = new();

    private sealed record Entry(string Key, string Caller);

    /// <summary>The caller whose verified key this is, or null (not verified yet, or not a key at all).</summary>
    public string? Find(string apiKey) => Find(apiKey.AsSpan());

    /// <summary>As <see cref="Find(string)"/>; a span hashes as the string with its characters does.</summary>
    public string? Find(ReadOnlySpan<char> apiKey)
    {
        if (apiKey.Length > MaxKeyLength || !_entries.TryGetValue(string.GetHashCode(apiKey), out var entry)) return null;
        return FixedTimeKey.AreEqual(apiKey, entry.Key) ? entry.Caller : null;
    }

    /// <summary>Keeps a key that matched <paramref name="caller"/>'s configured hash.</summary>
    public void Remember(string apiKey, string caller)
    {
        if (apiKey.Length > MaxKeyLength) return;
        if (_entries.Count >= capacity) _entries.Clear();
        // Two keys sharing a hash code take turns: the other one is verified by its hash again, never mixed up.
        _entries[apiKey.GetHashCode()] = new Entry(apiKey, caller);
    }
}
