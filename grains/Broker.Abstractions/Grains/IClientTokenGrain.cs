using Broker.Abstractions.Tokens;

namespace Broker.Abstractions.Grains;

/// <summary>
/// One client-credentials token (RFC 6749 §4.4). Key: <see cref="Identity.ClientTokenKey.ToGrainKey"/>,
/// which includes the scopes and resource.
/// </summary>
public interface IClientTokenGrain : IGrainWithStringKey
{
    Task<AccessTokenResult> GetAccessToken(TimeSpan minTimeToLive);

    /// <summary>Re-seals the cached token under the primary key (key rotation); an unreadable one is dropped.</summary>
    Task<ReencryptionOutcome> Reencrypt();
}
