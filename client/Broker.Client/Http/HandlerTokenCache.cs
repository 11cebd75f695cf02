using System.Collections.Concurrent;

namespace Broker.Client;

/// <summary>
/// Tokens the HttpClient handlers hold between calls, so a busy service does not ask the broker on every
/// request. Bounded: past the limit it starts afresh rather than grow without end.
/// </summary>
public sealed class HandlerTokenCache(TimeProvider? time = null)
{
    private const int MaxEntries = 10_000;
    private readonly ConcurrentDictionary<string, BrokerToken> _tokens = new(StringComparer.Ordinal);
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public bool TryGet(string key, TimeSpan refreshBeforeExpiry, out BrokerToken token) =>
        _tokens.TryGetValue(key, out token!) && token.ExpiresAt - _time.GetUtcNow() > refreshBeforeExpiry;

    public void Set(string key, BrokerToken token)
    {
        if (_tokens.Count >= MaxEntries) _tokens.Clear();
        _tokens[key] = token;
    }

    public void Remove(string key) => _tokens.TryRemove(key, out _);
}
