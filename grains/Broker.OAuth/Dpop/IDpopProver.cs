namespace Broker.OAuth.Dpop;

/// <summary>
/// Signs DPoP proofs with a key it does not hand out: a key in hand (<see cref="LocalDpopProver"/>), or a grain
/// that holds one. The token endpoint client asks it for a proof per request.
/// </summary>
public interface IDpopProver
{
    /// <summary>A proof for <paramref name="httpMethod"/> <paramref name="url"/>, with the server's nonce when it gave one.</summary>
    Task<string> ProveAsync(string httpMethod, Uri url, string? nonce);
}

/// <summary>A prover over a key held in this process.</summary>
public sealed class LocalDpopProver(DpopKey key, TimeProvider time) : IDpopProver
{
    public Task<string> ProveAsync(string httpMethod, Uri url, string? nonce) =>
        Task.FromResult(DpopProof.Create(key, httpMethod, url, time.GetUtcNow(), nonce));

    public override string ToString() => key.ToString();
}
