using Broker.Abstractions;
using Broker.Abstractions.Grains;
using Broker.OAuth.Dpop;

namespace Broker.Grains.Families;

/// <summary>
/// DPoP (RFC 9449): the family's key pair is made here, sealed in the family's state, and used here only: other grains
/// and callers get proofs, never the key.
/// </summary>
public sealed partial class TokenFamilyGrain
{
    public async Task<string> DpopThumbprint(string algorithm) => (await EnsureDpopKey(algorithm)).Thumbprint;

    public async Task<string> ProveTokenRequest(string httpMethod, string url, string? nonce, string algorithm)
    {
        var key = await EnsureDpopKey(algorithm);
        return DpopProof.Create(key, httpMethod, ProofTarget(url), time.GetUtcNow(), nonce);
    }

    public Task<DpopProofResult> CreateProof(string httpMethod, string url, string? nonce)
    {
        _store.ThrowIfRefused();
        var state = State;
        var target = ProofTarget(url);
        if (!state.IsDpopBound || state.DpopKey is null)
            throw new BrokerException(BrokerErrorReason.InvalidState, "the family's access token is not DPoP-bound: send it as a bearer token.");
        if (!TokenFamilyDecisions.CanServe(state, time.GetUtcNow(), TimeSpan.Zero))
            throw new BrokerException(BrokerErrorReason.InvalidState, "the family holds no valid access token: get one with GetAccessToken first.");
        var now = time.GetUtcNow();
        var accessToken = _secrets.AccessToken(state.AccessToken!);
        var proof = DpopProof.Create(_secrets.DpopKey(state.DpopKey), httpMethod, target, now, nonce, accessToken);
        return Task.FromResult(new DpopProofResult(proof, DpopProof.AccessTokenHash(accessToken), now + DpopProof.MaxLifetime));
    }

    /// <summary>The prover for this family's own token requests, when it holds a key.</summary>
    private IDpopProver? Prover(TokenFamilyState state) =>
        state.DpopKey is { } sealedKey ? new LocalDpopProver(_secrets.DpopKey(sealedKey), time) : null;

    private async Task<DpopKey> EnsureDpopKey(string algorithm)
    {
        _store.ThrowIfRefused();
        if (State.DpopKey is null)
        {
            if (!DpopKey.IsSupported(algorithm))
                throw new BrokerException(BrokerErrorReason.InvalidArgument, "the DPoP algorithm is not one the broker supports.");
            using var made = DpopKey.Generate(algorithm);
            await Apply(() => new FamilyEvent.DpopKeyMade(_secrets.SealDpopKey(made), made.Thumbprint));
        }
        return _secrets.DpopKey(State.DpopKey!);
    }

    private static Uri ProofTarget(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var target) && (target.Scheme == Uri.UriSchemeHttps || target.Scheme == Uri.UriSchemeHttp)
            ? target
            : throw new BrokerException(BrokerErrorReason.InvalidArgument, "url must be an absolute http(s) URL.");
}
