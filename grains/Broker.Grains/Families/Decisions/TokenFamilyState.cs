using Broker.Abstractions.Identity;
using Broker.Abstractions.Tokens;
using Broker.Grains.Protection;

namespace Broker.Grains.Families;

/// <summary>
/// What is stored of a token family: immutable, changed only by <see cref="TokenFamilyDecisions"/> with
/// <c>with</c>. Every token is a <see cref="ProtectedSecret"/>. The ids are the storage format: never reuse one.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record TokenFamilyState : Storage.IKeptWhenRefused
{
    public static readonly TokenFamilyState Empty = new();

    [Id(0)] public FamilyStatus Status { get; init; }
    [Id(1)] public ProtectedSecret? AccessToken { get; init; }
    [Id(2)] public string TokenType { get; init; } = "Bearer";
    [Id(3)] public DateTimeOffset AccessTokenIssuedAt { get; init; }
    [Id(4)] public DateTimeOffset AccessTokenExpiresAt { get; init; }
    [Id(5)] public ProtectedSecret? RefreshToken { get; init; }
    [Id(6)] public ProtectedSecret? IdToken { get; init; }
    [Id(7)] public ScopeSet Scopes { get; init; } = ScopeSet.Empty;

    /// <summary>Counts every change of tokens; a refresh intent names the generation it will produce.</summary>
    [Id(8)] public long Generation { get; init; }

    /// <summary>Set, and persisted, before a refresh request is sent: the fence against a second activation.</summary>
    [Id(9)] public RefreshIntent? Intent { get; init; }

    /// <summary>
    /// Fingerprints of refresh tokens this family has rotated away from, newest last. Never mutated: a change
    /// makes a new list (the type stays <c>List</c> so that rows of earlier versions read).
    /// </summary>
    [Id(10)] public List<string> SupersededRefreshTokens { get; init; } = [];

    [Id(11)] public long RefreshCount { get; init; }
    [Id(12)] public DateTimeOffset? LastRefreshAt { get; init; }

    /// <summary>Earlier versions stored the outcome and the reason as strings; read by <see cref="Upgraded"/> only.</summary>
    [Id(13)] public string? LegacyLastRefreshOutcome { get; init; }
    [Id(14)] public string? LegacyStatusReason { get; init; }

    /// <summary>When the current refresh token arrived: tells a provider's expiry from someone else's use.</summary>
    [Id(15)] public DateTimeOffset? RefreshTokenReceivedAt { get; init; }

    /// <summary>Why the family is not active.</summary>
    [Id(16)] public FamilyStatusReason StatusReason { get; init; }

    [Id(17)] public RefreshOutcome LastRefreshOutcome { get; init; }

    /// <summary>The HTTP status of a refusal without an OAuth error (<see cref="FamilyStatusReason.RefusedWithoutError"/>).</summary>
    [Id(18)] public int RefusalHttpStatus { get; init; }

    /// <summary>Keyed fingerprint of the upstream account (ID token iss + sub) that granted the tokens; null without OpenID Connect.</summary>
    [Id(19)] public string? AccountFingerprint { get; init; }

    /// <summary>The caller that began or imported the family; kept by re-consent, replaced only once the family was revoked.</summary>
    [Id(20)] public string? Owner { get; init; }

    /// <summary>Flapping control (<see cref="FamilyNotifications"/>): when the last failure and recovery events were emitted.</summary>
    [Id(21)] public DateTimeOffset? LastFailureNoticeAt { get; init; }
    [Id(22)] public DateTimeOffset? LastRecoveryNoticeAt { get; init; }

    /// <summary>Transitions not emitted inside the window since the last event; the next emitted event carries the count.</summary>
    [Id(23)] public int SuppressedNotices { get; init; }

    /// <summary>
    /// The family's DPoP private key (RFC 9449), sealed like the tokens; made once, kept across grants, never handed out.
    /// (Ids 25-29 are this feature's.)
    /// </summary>
    [Id(25)] public ProtectedSecret? DpopKey { get; init; }

    /// <summary>The RFC 7638 thumbprint of <see cref="DpopKey"/>: the jkt a DPoP-bound token of this family is bound to.</summary>
    [Id(26)] public string? DpopThumbprint { get; init; }

    /// <summary>The held tokens are DPoP-bound (token_type DPoP, compared ignoring case) to <see cref="DpopThumbprint"/>.</summary>
    public bool IsDpopBound => string.Equals(TokenType, "DPoP", StringComparison.OrdinalIgnoreCase);

    public bool HasTokens => AccessToken is not null || RefreshToken is not null;

    /// <summary>A row written by a version that stored reasons as strings, in today's terms.</summary>
    public TokenFamilyState Upgraded() => LegacyStatusReason is null && LegacyLastRefreshOutcome is null
        ? this
        : this with
        {
            StatusReason = StatusReason != FamilyStatusReason.None ? StatusReason : FamilyWireNames.ParseReason(LegacyStatusReason),
            LastRefreshOutcome = LastRefreshOutcome != RefreshOutcome.None ? LastRefreshOutcome : FamilyWireNames.ParseOutcome(LegacyLastRefreshOutcome),
            LegacyStatusReason = null,
            LegacyLastRefreshOutcome = null,
        };

    /// <summary>
    /// After a conditional write lost to another activation: this activation's decision wins (it decided the
    /// tokens it holds), while what only grows keeps growing. Every other field follows <paramref name="mine"/>
    /// without being named here, so a field added to the state cannot drop out of the merge.
    /// </summary>
    public static TokenFamilyState MergeAfterLostWrite(TokenFamilyState stored, TokenFamilyState mine) => mine with
    {
        Generation = Math.Max(stored.Generation, mine.Generation),
        RefreshCount = Math.Max(stored.RefreshCount, mine.RefreshCount),
        SupersededRefreshTokens = [.. stored.SupersededRefreshTokens.Union(mine.SupersededRefreshTokens)],
        // A key is made once: one stored by another activation is kept when this one made none.
        DpopKey = mine.DpopKey ?? stored.DpopKey,
        DpopThumbprint = mine.DpopKey is null ? stored.DpopThumbprint : mine.DpopThumbprint,
    };
}

/// <summary>A refresh in progress: who started it, when, and which generation it will produce.</summary>
[GenerateSerializer, Immutable]
public sealed record RefreshIntent(
    [property: Id(0)] Guid Owner,
    [property: Id(1)] long Generation,
    [property: Id(2)] DateTimeOffset StartedAt);
