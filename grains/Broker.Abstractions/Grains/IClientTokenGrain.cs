using Broker.Abstractions.Tokens;

namespace Broker.Abstractions.Grains;

/// <summary>
/// One client-credentials token (RFC 6749 §4.4). Key: <see cref="Identity.ClientTokenKey.ToGrainKey"/>,
/// which includes the scopes and resource.
/// </summary>
public interface IClientTokenGrain : IGrainWithStringKey
{
    Task<AccessTokenResult> GetAccessToken(TimeSpan minTimeToLive);

    /// <summary>
    /// As <see cref="GetAccessToken"/>, with a lease (<see cref="AccessTokenResult.Lease"/>) during which the calling silo
    /// may hand out the same token from its own copy; a newly acquired token is handed out once every lease has ended.
    /// </summary>
    Task<AccessTokenResult> LeaseAccessToken(TimeSpan minTimeToLive);

    /// <summary>Re-seals the cached token under the primary key (key rotation); an unreadable one is dropped.</summary>
    Task<ReencryptionOutcome> Reencrypt();

    /// <summary>A DPoP proof (RFC 9449) for a call with the cached access token; INVALID_STATE when it is not DPoP-bound or has expired.</summary>
    Task<DpopProofResult> CreateProof(string httpMethod, string url, string? nonce);
}
