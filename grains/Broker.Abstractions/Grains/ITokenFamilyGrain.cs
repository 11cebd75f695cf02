using Broker.Abstractions.Tokens;

namespace Broker.Abstractions.Grains;

/// <summary>
/// The one place in the cluster that holds a token family (provider + subject). Key: <see cref="Identity.FamilyKey.ToGrainKey"/>.
/// All refreshes of the family go through it, one at a time.
/// </summary>
public interface ITokenFamilyGrain : IGrainWithStringKey
{
    /// <summary>An access token valid for at least <paramref name="minTimeToLive"/>, refreshing when needed.</summary>
    Task<AccessTokenResult> GetAccessToken(TimeSpan minTimeToLive, bool forceRefresh);

    /// <summary>
    /// As <see cref="GetAccessToken"/> without forcing, and with a lease (<see cref="AccessTokenResult.Lease"/>): for
    /// that long, counted from before the call was sent, the calling silo may hand out the same token from its own
    /// cache. A revocation, rotation, import, new authorization or mark completes only once every lease has ended.
    /// </summary>
    Task<AccessTokenResult> LeaseAccessToken(TimeSpan minTimeToLive);

    /// <summary>
    /// Replaces the family's tokens with those of a completed authorization, and revokes the replaced grant upstream.
    /// An authorization by another upstream account than the one held fails with
    /// <see cref="BrokerErrorReason.AccountMismatch"/> (and its grant is revoked) unless <paramref name="replaceAccount"/>.
    /// </summary>
    Task StoreAuthorizedTokens(TokenSet tokens, UpstreamAccount? account, bool replaceAccount);

    /// <summary>
    /// Takes over tokens a service holds today. A refresh token this family has already rotated away from is
    /// treated as stolen: the family is revoked upstream and locally, and the call fails with
    /// <see cref="BrokerErrorReason.TokenReuseDetected"/>.
    /// </summary>
    Task ImportTokens(TokenSet tokens);

    /// <summary>Revokes the family upstream (RFC 7009) where the provider can, and forgets it.</summary>
    Task Revoke();

    Task<FamilyDescription> Describe();

    /// <summary>Re-encrypts the stored secrets under the ring's primary key (key rotation), when they are not already.</summary>
    Task<ReencryptionOutcome> Reencrypt();

    /// <summary>An operator's decision: stop serving the family until a new authorization.</summary>
    Task MarkReauthorizationRequired();

    /// <summary>
    /// The RFC 7638 thumbprint of the family's DPoP key (RFC 9449), made on first use for <paramref name="algorithm"/>
    /// (a family keeps its key for life: its tokens are bound to it); the key itself never leaves the grain.
    /// </summary>
    Task<string> DpopThumbprint(string algorithm);

    /// <summary>A DPoP proof for one of the family's own token requests (code redemption): no access token hash.</summary>
    Task<string> ProveTokenRequest(string httpMethod, string url, string? nonce, string algorithm);

    /// <summary>
    /// A DPoP proof for a call to a resource server with the family's current access token (its hash as <c>ath</c>).
    /// Fails with <see cref="BrokerErrorReason.InvalidState"/> when the held token is not DPoP-bound or not servable.
    /// </summary>
    Task<DpopProofResult> CreateProof(string httpMethod, string url, string? nonce);
}

/// <summary>A DPoP proof for a caller: the proof JWT and the <c>ath</c> (access token hash) it carries, so the caller can tell which token it is for.</summary>
[GenerateSerializer, Immutable]
public sealed record DpopProofResult(
    [property: Id(0)] string Proof,
    [property: Id(1)] string AccessTokenHash,
    [property: Id(2)] DateTimeOffset ExpiresAt);

/// <summary>What <see cref="ITokenFamilyGrain.Reencrypt"/> found.</summary>
[GenerateSerializer]
public enum ReencryptionOutcome
{
    /// <summary>Nothing stored to protect.</summary>
    Empty,
    /// <summary>Already under the primary key.</summary>
    Current,
    /// <summary>Rewritten under the primary key.</summary>
    Reencrypted,
    /// <summary>Could not be decrypted; the record is marked.</summary>
    Unreadable,
}
