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
}

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
