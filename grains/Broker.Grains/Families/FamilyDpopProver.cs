using Broker.Abstractions.Grains;
using Broker.OAuth.Dpop;

namespace Broker.Grains.Families;

/// <summary>Proofs signed by a family grain, for token requests made elsewhere (the code redemption).</summary>
public sealed class FamilyDpopProver(ITokenFamilyGrain family) : IDpopProver
{
    public Task<string> ProveAsync(string httpMethod, Uri url, string? nonce, string algorithm) =>
        family.ProveTokenRequest(httpMethod, url.AbsoluteUri, nonce, algorithm);
}
