using System.Collections.Concurrent;
using Broker.Abstractions.Identity;

namespace Broker.OAuth.Dpop;

/// <summary>
/// The last DPoP nonce each provider's token endpoint gave (RFC 9449 §8), updated from every answer that carries
/// one. Per silo: a silo that has none yet costs one <c>use_dpop_nonce</c> round trip.
/// </summary>
public sealed class DpopNonces
{
    private readonly ConcurrentDictionary<ProviderName, string> _nonces = new();

    public string? For(ProviderName provider) => _nonces.TryGetValue(provider, out var nonce) ? nonce : null;

    public void Remember(ProviderName provider, string? nonce)
    {
        // RFC 9449 §8.1: a nonce is 1*NQCHAR; anything else is not echoed back.
        if (string.IsNullOrEmpty(nonce) || nonce.Length > 512 || nonce.Any(c => c is < ' ' or > '~' or '"' or '\\')) return;
        _nonces[provider] = nonce;
    }
}
