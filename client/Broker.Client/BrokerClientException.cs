using Google.Rpc;
using Grpc.Core;

namespace Broker.Client;

/// <summary>
/// A broker call failed for a reason the caller can act on: <see cref="Reason"/> is the ErrorInfo reason
/// (AUTHORIZATION_REQUIRED, REAUTHORIZATION_REQUIRED, THROTTLED, PERMISSION_DENIED, PROVIDER_UNAVAILABLE, ...),
/// <see cref="RetryAfter"/> the RetryInfo delay when the broker gave one.
/// </summary>
public class BrokerClientException : Exception
{
    public BrokerClientException(StatusCode status, string reason, string message, TimeSpan? retryAfter, Exception? inner = null)
        : base(message, inner)
    {
        Status = status;
        Reason = reason;
        RetryAfter = retryAfter;
    }

    public StatusCode Status { get; }
    public string Reason { get; }
    public TimeSpan? RetryAfter { get; }

    /// <summary>The user must go through an authorization (again) before tokens can be had.</summary>
    public bool NeedsAuthorization => Reason is BrokerReasons.AuthorizationRequired or BrokerReasons.ReauthorizationRequired
        or BrokerReasons.RefreshOutcomeUnknown or BrokerReasons.TokenReuseDetected;

    internal static BrokerClientException From(RpcException ex)
    {
        var status = ex.GetRpcStatus();
        var reason = status?.GetDetail<ErrorInfo>()?.Reason ?? ex.StatusCode.ToString().ToUpperInvariant();
        var retryAfter = status?.GetDetail<RetryInfo>()?.RetryDelay?.ToTimeSpan();
        return new BrokerClientException(ex.StatusCode, reason, ex.Status.Detail, retryAfter, ex);
    }
}

/// <summary>The ErrorInfo reasons the broker sends (domain "broker.v1").</summary>
public static class BrokerReasons
{
    public const string InvalidArgument = "INVALID_ARGUMENT";
    public const string UnknownProvider = "UNKNOWN_PROVIDER";
    public const string AuthorizationRequired = "AUTHORIZATION_REQUIRED";
    public const string ReauthorizationRequired = "REAUTHORIZATION_REQUIRED";
    public const string RefreshOutcomeUnknown = "REFRESH_OUTCOME_UNKNOWN";
    public const string TokenReuseDetected = "TOKEN_REUSE_DETECTED";
    public const string ProviderUnavailable = "PROVIDER_UNAVAILABLE";
    public const string ProviderRejected = "PROVIDER_REJECTED";
    public const string Throttled = "THROTTLED";
    public const string StateUnreadable = "STATE_UNREADABLE";
    public const string Unauthenticated = "UNAUTHENTICATED";
    public const string PermissionDenied = "PERMISSION_DENIED";
}
