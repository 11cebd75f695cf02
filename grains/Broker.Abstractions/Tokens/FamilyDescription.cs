using Broker.Abstractions.Identity;

namespace Broker.Abstractions.Tokens;

public enum FamilyStatus
{
    /// <summary>No tokens are held: authorize first.</summary>
    None,
    Active,
    ReauthorizationRequired,
    Revoked,
}

/// <summary>What an operator may see of a family: never a token. (Ids 7 and 8 held the reason strings of earlier versions.)</summary>
[GenerateSerializer, Immutable]
public sealed record FamilyDescription(
    [property: Id(0)] FamilyKey Key,
    [property: Id(1)] FamilyStatus Status,
    [property: Id(2)] ScopeSet Scopes,
    [property: Id(3)] DateTimeOffset? AccessTokenExpiresAt,
    [property: Id(4)] bool HasRefreshToken,
    [property: Id(5)] long RefreshCount,
    [property: Id(6)] DateTimeOffset? LastRefreshAt,
    [property: Id(10)] RefreshOutcome LastRefreshOutcome,
    [property: Id(11)] FamilyStatusReason StatusReason,
    [property: Id(9)] DateTimeOffset? ThrottledUntil);
