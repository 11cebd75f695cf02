using Broker.OAuth.Discovery;
using Broker.OAuth.Providers;

namespace Broker.OAuth.Dpop;

/// <summary>When token requests to a provider carry DPoP proofs, with which algorithm, and whether an answer is a DPoP-bound token.</summary>
public static class DpopUse
{
    /// <summary>
    /// The broker's own error code (not a server's) for a bearer answer where the provider's mode is Required: the
    /// tokens were given back (RFC 7009) and the request counts as refused.
    /// </summary>
    public const string NotBoundError = "dpop_not_bound";

    /// <summary>
    /// The algorithm of new keys for this provider, or null when its requests carry no proofs. ES256 when the
    /// metadata lists it (or lists nothing), else the first the broker supports among those it lists. Opportunistic
    /// needs the metadata to list one; Required falls back to ES256, and a server that refuses it says so.
    /// </summary>
    public static string? Algorithm(Provider provider, AuthorizationServerMetadata metadata)
    {
        var mode = provider.Options.Dpop;
        if (mode == DpopMode.Off) return null;
        var listed = metadata.DpopSigningAlgorithms;
        var chosen = DpopKey.SupportedAlgorithms.FirstOrDefault(a => listed.Contains(a, StringComparer.Ordinal));
        return chosen ?? (mode == DpopMode.Required ? DpopKey.DefaultAlgorithm : null);
    }

    /// <summary>Required: always. Opportunistic: when the metadata lists an algorithm the broker can sign with.</summary>
    public static bool Applies(Provider provider, AuthorizationServerMetadata metadata) => Algorithm(provider, metadata) is not null;

    /// <summary>Whether keys are made for this provider's families and client tokens at all.</summary>
    public static bool MayApply(Provider provider) => provider.Options.Dpop != DpopMode.Off;

    /// <summary>Whether a bearer answer is refused: the operator asked for sender-constrained tokens only.</summary>
    public static bool IsRequired(Provider provider) => provider.Options.Dpop == DpopMode.Required;

    /// <summary>RFC 9449 §5: token_type "DPoP" marks a bound token; the comparison ignores case (RFC 6749 §5.1).</summary>
    public static bool IsBound(string? tokenType) => string.Equals(tokenType, DpopProof.AuthorizationScheme, StringComparison.OrdinalIgnoreCase);
}
