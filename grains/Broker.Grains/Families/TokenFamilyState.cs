using Broker.Abstractions.Identity;
using Broker.Abstractions.Tokens;
using Broker.Grains.Protection;

namespace Broker.Grains.Families;

/// <summary>What is stored of a token family. Every token is a <see cref="ProtectedSecret"/>.</summary>
[GenerateSerializer]
public sealed class TokenFamilyState
{
    [Id(0)] public FamilyStatus Status { get; set; }
    [Id(1)] public ProtectedSecret? AccessToken { get; set; }
    [Id(2)] public string TokenType { get; set; } = "Bearer";
    [Id(3)] public DateTimeOffset AccessTokenIssuedAt { get; set; }
    [Id(4)] public DateTimeOffset AccessTokenExpiresAt { get; set; }
    [Id(5)] public ProtectedSecret? RefreshToken { get; set; }
    [Id(6)] public ProtectedSecret? IdToken { get; set; }
    [Id(7)] public ScopeSet Scopes { get; set; } = ScopeSet.Empty;

    /// <summary>Counts every change of tokens; a refresh intent names the generation it will produce.</summary>
    [Id(8)] public long Generation { get; set; }

    /// <summary>Set, and persisted, before a refresh request is sent: the fence against a second activation.</summary>
    [Id(9)] public RefreshIntent? Intent { get; set; }

    /// <summary>Fingerprints of refresh tokens this family has rotated away from, newest last.</summary>
    [Id(10)] public List<string> SupersededRefreshTokens { get; set; } = [];

    [Id(11)] public long RefreshCount { get; set; }
    [Id(12)] public DateTimeOffset? LastRefreshAt { get; set; }
    [Id(13)] public string? LastRefreshOutcome { get; set; }

    /// <summary>Why the family is not active (invalid_grant, refresh_outcome_unknown, revoked).</summary>
    [Id(14)] public string? StatusReason { get; set; }

    /// <summary>When the current refresh token arrived: tells a provider's expiry from someone else's use.</summary>
    [Id(15)] public DateTimeOffset? RefreshTokenReceivedAt { get; set; }
}

/// <summary>A refresh in progress: who started it, when, and which generation it will produce.</summary>
[GenerateSerializer, Immutable]
public sealed record RefreshIntent(
    [property: Id(0)] Guid Owner,
    [property: Id(1)] long Generation,
    [property: Id(2)] DateTimeOffset StartedAt);
