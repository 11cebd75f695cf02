namespace Broker.Abstractions;

/// <summary>
/// Why a call failed, in words a caller can act on. Each value maps to one gRPC status code and is sent
/// as the <c>reason</c> of a google.rpc.ErrorInfo (upper snake case of the name).
/// </summary>
public enum BrokerErrorReason
{
    /// <summary>A request field is missing or malformed. INVALID_ARGUMENT.</summary>
    InvalidArgument,
    /// <summary>No provider of that name is configured. NOT_FOUND.</summary>
    UnknownProvider,
    /// <summary>No token family exists for (provider, subject): the user must authorize first. FAILED_PRECONDITION.</summary>
    AuthorizationRequired,
    /// <summary>The family can no longer be refreshed (upstream invalid_grant, revoked, expired). FAILED_PRECONDITION.</summary>
    ReauthorizationRequired,
    /// <summary>A refresh may or may not have reached the server, and replaying it would be unsafe. FAILED_PRECONDITION.</summary>
    RefreshOutcomeUnknown,
    /// <summary>A refresh token the family had already superseded was presented: treated as theft. FAILED_PRECONDITION.</summary>
    TokenReuseDetected,
    /// <summary>The authorization server could not be reached or failed. UNAVAILABLE.</summary>
    ProviderUnavailable,
    /// <summary>The authorization server rejected the client or the request (not the grant). FAILED_PRECONDITION.</summary>
    ProviderRejected,
    /// <summary>A rate limit, ours or the provider's, stops the request for now. RESOURCE_EXHAUSTED, with a retry delay.</summary>
    Throttled,
    /// <summary>The authorization callback's state is unknown, expired, used, or of another provider. FAILED_PRECONDITION.</summary>
    InvalidState,
    /// <summary>The authorization response failed validation (wrong iss, missing code). FAILED_PRECONDITION.</summary>
    InvalidAuthorizationResponse,
    /// <summary>The user or the authorization server refused the authorization (error=access_denied, ...). FAILED_PRECONDITION.</summary>
    AuthorizationDenied,
    /// <summary>Stored state could not be decrypted (tampered, moved, or its key is gone). DATA_LOSS.</summary>
    StateUnreadable,
    /// <summary>The call carried no credential the broker accepts. UNAUTHENTICATED.</summary>
    Unauthenticated,
    /// <summary>The caller is known but its policy does not allow this call. PERMISSION_DENIED.</summary>
    PermissionDenied,
    /// <summary>
    /// An authorization was granted by another upstream account than the one the family holds, and the caller did not
    /// ask to replace it; its grant was revoked. FAILED_PRECONDITION.
    /// </summary>
    AccountMismatch,
}
