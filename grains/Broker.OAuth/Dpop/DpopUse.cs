using Broker.OAuth.Discovery;
using Broker.OAuth.Providers;

namespace Broker.OAuth.Dpop;

/// <summary>When token requests to a provider carry DPoP proofs, and whether an answer is a DPoP-bound token.</summary>
public static class DpopUse
{
    /// <summary>Required: always. Opportunistic: when the metadata lists ES256 in dpop_signing_alg_values_supported.</summary>
    public static bool Applies(Provider provider, AuthorizationServerMetadata metadata) => provider.Options.Dpop switch
    {
        DpopMode.Required => true,
        DpopMode.Opportunistic => metadata.DpopSigningAlgorithms.Contains(DpopKey.Algorithm, StringComparer.Ordinal),
        _ => false,
    };

    /// <summary>Whether keys are made for this provider's families and client tokens at all.</summary>
    public static bool MayApply(Provider provider) => provider.Options.Dpop != DpopMode.Off;

    /// <summary>RFC 9449 §5: token_type "DPoP" marks a bound token; the comparison ignores case (RFC 6749 §5.1).</summary>
    public static bool IsBound(string? tokenType) => string.Equals(tokenType, DpopProof.AuthorizationScheme, StringComparison.OrdinalIgnoreCase);
}
