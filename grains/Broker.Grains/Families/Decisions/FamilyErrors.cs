using Broker.Abstractions;
using Broker.Abstractions.Tokens;

namespace Broker.Grains.Families;

public static class FamilyErrors
{
    public static BrokerException AccountMismatch(string provider) => new(BrokerErrorReason.AccountMismatch,
        $"the authorization at provider '{provider}' was granted by another account than the one this family holds; its grant was revoked. " +
        "Begin the authorization with replace_account to change the account.");

    /// <summary>Why the family cannot hand out a token, in words a caller can act on.</summary>
    public static BrokerException NotServable(TokenFamilyState state, string provider) => (state.Status, state.StatusReason) switch
    {
        (FamilyStatus.None, _) => new BrokerException(BrokerErrorReason.AuthorizationRequired,
            $"no tokens are held for this subject at provider '{provider}': begin an authorization."),
        (FamilyStatus.Revoked, var reason) => new BrokerException(BrokerErrorReason.ReauthorizationRequired,
            "the family was revoked: begin a new authorization.") { Detail = FamilyWireNames.Of(reason) },
        (FamilyStatus.ReauthorizationRequired, FamilyStatusReason.RefreshOutcomeUnknown) => new BrokerException(BrokerErrorReason.RefreshOutcomeUnknown,
            "a refresh may have reached the provider but its answer was lost; replaying it would get the family revoked: begin a new authorization.")
            { Detail = FamilyWireNames.Of(FamilyStatusReason.RefreshOutcomeUnknown) },
        (FamilyStatus.ReauthorizationRequired, FamilyStatusReason.ReplayOutsideLeeway) => new BrokerException(BrokerErrorReason.RefreshOutcomeUnknown,
            "a refresh may have reached the provider but its answer was lost, and a replay could no longer arrive inside the provider's " +
            "reuse leeway (it would get the grant revoked): begin a new authorization.")
            { Detail = FamilyWireNames.Of(FamilyStatusReason.ReplayOutsideLeeway) },
        (FamilyStatus.ReauthorizationRequired, FamilyStatusReason.RefusedWithoutError) => new BrokerException(BrokerErrorReason.ReauthorizationRequired,
            $"the provider refused this family's refresh token (HTTP {state.RefusalHttpStatus}, without an OAuth error): begin a new authorization.")
            { Detail = $"http_{state.RefusalHttpStatus}" },
        (FamilyStatus.ReauthorizationRequired, FamilyStatusReason.StateUnreadable) => new BrokerException(BrokerErrorReason.StateUnreadable,
            "this family's stored state failed authentication (altered, moved or put back): begin a new authorization.")
            { Detail = FamilyWireNames.Of(FamilyStatusReason.StateUnreadable) },
        (FamilyStatus.ReauthorizationRequired, FamilyStatusReason.MarkedByOperator) => new BrokerException(BrokerErrorReason.ReauthorizationRequired,
            "an operator marked this family for reauthorization: begin a new authorization.") { Detail = FamilyWireNames.Of(FamilyStatusReason.MarkedByOperator) },
        (FamilyStatus.ReauthorizationRequired, FamilyStatusReason.DpopNotBound) => new BrokerException(BrokerErrorReason.ReauthorizationRequired,
            $"provider '{provider}' answered a refresh with a bearer token though its DPoP mode is Required; the tokens were given back: " +
            "begin a new authorization once the provider binds tokens (or change the mode).") { Detail = FamilyWireNames.Of(FamilyStatusReason.DpopNotBound) },
        (FamilyStatus.ReauthorizationRequired, var reason) => new BrokerException(BrokerErrorReason.ReauthorizationRequired,
            "the provider no longer accepts this family's refresh token: begin a new authorization.") { Detail = FamilyWireNames.Of(reason) },
        _ => new BrokerException(BrokerErrorReason.ReauthorizationRequired,
            $"the family holds no refresh token and its access token has expired: begin a new authorization (with {OfflineAccessHint}).")
            { Detail = FamilyWireNames.Of(FamilyStatusReason.NoRefreshToken) },
    };

    /// <summary>A forced refresh of a family that has nothing to refresh with: said, rather than answered from the cache.</summary>
    public static BrokerException NoRefreshToken() => new(BrokerErrorReason.ReauthorizationRequired,
        $"the family holds no refresh token, so it cannot be refreshed; its access token serves until it expires. To refresh, authorize again with {OfflineAccessHint}.")
        { Detail = FamilyWireNames.Of(FamilyStatusReason.NoRefreshToken) };

    private const string OfflineAccessHint = "the scope offline_access, or what the provider needs to issue a refresh token";
}
