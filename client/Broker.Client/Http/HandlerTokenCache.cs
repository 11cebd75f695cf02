using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Broker.Client;

/// <summary>
/// Tokens the HttpClient handlers hold between calls, so a busy service does not ask the broker on every
/// request. Bounded: past the limit it starts afresh rather than grow without end.
/// </summary>
internal sealed class HandlerTokenCache(IOptions<BrokerClientOptions> options, TimeProvider? time = null)
{
    private const int MaxEntries = 10_000;
    private readonly ConcurrentDictionary<string, BrokerToken> _tokens = new(StringComparer.Ordinal);
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>Drops the held token for <paramref name="key"/>.</summary>
    public void Forget(string key) => _tokens.TryRemove(key, out _);

    /// <summary>
    /// The held token for <paramref name="key"/> while it has more than <see cref="BrokerClientOptions.HandlerRefreshBeforeExpiry"/>
    /// left, else (or when forced) a fetched one, which is then held.
    /// </summary>
    public async Task<BrokerToken> GetAsync(string key, bool forceRefresh,
        Func<bool, CancellationToken, Task<BrokerToken>> fetch, CancellationToken cancellationToken)
    {
        if (forceRefresh)
            _tokens.TryRemove(key, out _); // refused by the API: never hand it out again, even if the fetch fails
        else if (_tokens.TryGetValue(key, out var held) && held.ExpiresAt - _time.GetUtcNow() > options.Value.HandlerRefreshBeforeExpiry)
            return held;

        var token = await fetch(forceRefresh, cancellationToken);
        if (_tokens.Count >= MaxEntries) _tokens.Clear();
        _tokens[key] = token;
        return token;
    }
}
