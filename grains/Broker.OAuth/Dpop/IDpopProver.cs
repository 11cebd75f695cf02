namespace Broker.OAuth.Dpop;

/// <summary>
/// Signs DPoP proofs with a key it does not hand out: a key in hand (<see cref="LocalDpopProver"/>), or a grain
/// that holds one. The token endpoint client asks it for a proof per request.
/// </summary>
public interface IDpopProver
{
    /// <summary>
    /// A proof for <paramref name="httpMethod"/> <paramref name="url"/>, with the server's nonce when it gave one.
    /// <paramref name="algorithm"/> is what a key made now would use (the provider's choice, <see cref="DpopUse.Algorithm"/>);
    /// a key already held signs with its own, since tokens may be bound to it.
    /// </summary>
    Task<string> ProveAsync(string httpMethod, Uri url, string? nonce, string algorithm);
}

/// <summary>A prover over a key held in this process, or made on first use by <c>keyFor(algorithm)</c>.</summary>
public sealed class LocalDpopProver(Func<string, DpopKey> keyFor, TimeProvider time) : IDpopProver
{
    public LocalDpopProver(DpopKey key, TimeProvider time) : this(_ => key, time)
    {
    }

    public Task<string> ProveAsync(string httpMethod, Uri url, string? nonce, string algorithm) =>
        Task.FromResult(DpopProof.Create(keyFor(algorithm), httpMethod, url, time.GetUtcNow(), nonce));
}
