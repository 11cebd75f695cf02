namespace Broker.Abstractions.Tokens;

/// <summary>
/// Why a family is not active. The numbers are what storage and the wire between silos carry: never renumber,
/// only add. <see cref="FamilyWireNames"/> holds the one mapping to the strings callers and operators see.
/// </summary>
public enum FamilyStatusReason
{
    None = 0,
    /// <summary>invalid_grant for a refresh token the broker had never sent: someone else may have used it.</summary>
    InvalidGrantPossibleTheft = 1,
    /// <summary>invalid_grant after a refresh was replayed inside the provider's reuse leeway.</summary>
    InvalidGrantAfterReplay = 2,
    /// <summary>invalid_grant once the refresh token's configured lifetime had passed.</summary>
    RefreshTokenExpired = 3,
    /// <summary>A refresh reached the provider (perhaps) and its answer was lost; replaying is unsafe.</summary>
    RefreshOutcomeUnknown = 4,
    /// <summary>Stored secrets failed to decrypt under a key this silo holds (altered or moved).</summary>
    StateUnreadable = 5,
    /// <summary>An operator stopped the family.</summary>
    MarkedByOperator = 6,
    /// <summary>A caller revoked the family.</summary>
    Revoked = 7,
    /// <summary>A superseded refresh token came back: the family was revoked as stolen.</summary>
    TokenReuseDetected = 8,
    /// <summary>The provider refused the refresh token with a bare 400, 401 or 403 (no OAuth error).</summary>
    RefusedWithoutError = 9,
    /// <summary>The authorization yielded no refresh token (no offline_access): the family lives as long as its access token.</summary>
    NoRefreshToken = 10,
    /// <summary>The provider's DPoP mode is Required and a refresh answered a bearer token: refused, and given back.</summary>
    DpopNotBound = 11,
    /// <summary>
    /// A refresh's answer was lost and a replay could no longer arrive inside the provider's reuse leeway (counting the
    /// token request timeout for its transit): not sent, since past the leeway the provider revokes the grant.
    /// </summary>
    ReplayOutsideLeeway = 12,
}

/// <summary>How the family's last refresh ended. Numbers as for <see cref="FamilyStatusReason"/>.</summary>
public enum RefreshOutcome
{
    None = 0,
    Issued = 1,
    InvalidGrant = 2,
    /// <summary>Refused for another reason than the grant (invalid_client, unauthorized_client, ...).</summary>
    Rejected = 3,
    Throttled = 4,
    NotSent = 5,
    OutcomeUnknown = 6,
    /// <summary>A bare 400, 401 or 403: refused, without an OAuth error code.</summary>
    Refused = 7,
}

/// <summary>The strings the API, logs and metrics use for the family enums: one place, so they never drift.</summary>
public static class FamilyWireNames
{
    public static string? Of(FamilyStatusReason reason) => reason switch
    {
        FamilyStatusReason.None => null,
        FamilyStatusReason.InvalidGrantPossibleTheft => "invalid_grant_possible_theft",
        FamilyStatusReason.InvalidGrantAfterReplay => "invalid_grant_after_replay",
        FamilyStatusReason.RefreshTokenExpired => "refresh_token_expired",
        FamilyStatusReason.RefreshOutcomeUnknown => "refresh_outcome_unknown",
        FamilyStatusReason.StateUnreadable => "state_unreadable",
        FamilyStatusReason.MarkedByOperator => "marked_by_operator",
        FamilyStatusReason.Revoked => "revoked",
        FamilyStatusReason.TokenReuseDetected => "token_reuse_detected",
        FamilyStatusReason.RefusedWithoutError => "refused_without_error",
        FamilyStatusReason.NoRefreshToken => "no_refresh_token",
        FamilyStatusReason.DpopNotBound => "dpop_not_bound",
        FamilyStatusReason.ReplayOutsideLeeway => "replay_outside_leeway",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, null),
    };

    public static string? Of(RefreshOutcome outcome) => outcome switch
    {
        RefreshOutcome.None => null,
        RefreshOutcome.Issued => "issued",
        RefreshOutcome.InvalidGrant => "invalid_grant",
        RefreshOutcome.Rejected => "rejected",
        RefreshOutcome.Throttled => "throttled",
        RefreshOutcome.NotSent => "not_sent",
        RefreshOutcome.OutcomeUnknown => "refresh_outcome_unknown",
        RefreshOutcome.Refused => "refused",
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, null),
    };

    public static string Of(FamilyStatus status) => status switch
    {
        FamilyStatus.None => "none",
        FamilyStatus.Active => "active",
        FamilyStatus.ReauthorizationRequired => "reauthorization_required",
        FamilyStatus.Revoked => "revoked",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, null),
    };

    /// <summary>Reads a reason written as a string by versions before the enums (stored rows stay readable).</summary>
    public static FamilyStatusReason ParseReason(string? wire) =>
        wire is null ? FamilyStatusReason.None
        : Enum.GetValues<FamilyStatusReason>().FirstOrDefault(r => Of(r) == wire);

    /// <summary>Reads an outcome written as a string before the enums; upstream error codes other than invalid_grant were stored verbatim.</summary>
    public static RefreshOutcome ParseOutcome(string? wire)
    {
        if (wire is null) return RefreshOutcome.None;
        if (wire == "metadata_unavailable") return RefreshOutcome.NotSent;
        foreach (var outcome in Enum.GetValues<RefreshOutcome>())
        {
            if (outcome != RefreshOutcome.None && Of(outcome) == wire) return outcome;
        }
        return RefreshOutcome.Rejected;
    }
}
