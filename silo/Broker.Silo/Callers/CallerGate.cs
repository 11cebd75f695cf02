using System.Diagnostics;
using Broker.Abstractions;
using Broker.Abstractions.Identity;
using Broker.Silo.Api;
using Broker.Silo.Audit;
using Broker.V1;
using Grpc.Core;

namespace Broker.Silo.Callers;

/// <summary>
/// The caller's side of every TokenBroker call: resolve the caller from the credential it presents (UNAUTHENTICATED when
/// none, before the service or any grain runs), refuse a method no policy names, then leave one audit event with the
/// outcome. <see cref="BrokerCallInterceptor"/> runs it around each call.
/// </summary>
public sealed class CallerGate(CallerAuthenticator authenticator, AuditLog audit, FamilyLogId logIds)
{
    private static readonly string ServicePrefix = $"/{TokenBroker.Descriptor.FullName}/";

    /// <summary>Whether a call to <paramref name="method"/> (a full gRPC path) needs a caller: TokenBroker's do; health and reflection are open.</summary>
    public static bool Guards(string method) => method.StartsWith(ServicePrefix, StringComparison.Ordinal);

    /// <summary>Who calls, and may they call this method at all: the caller's context, or a typed refusal (audited).</summary>
    public async ValueTask<CallerContext> BeginAsync(ServerCallContext context)
    {
        var http = context.GetHttpContext();
        if (await authenticator.AuthenticateAsync(http) is not { } caller)
        {
            var presented = http.Request.Headers.Authorization.Count > 0 || http.Connection.ClientCertificate is not null;
            audit.Unauthenticated(context.Method[ServicePrefix.Length..], context.Peer, presented ? "credential rejected" : "no credential");
            throw new BrokerException(BrokerErrorReason.Unauthenticated,
                "the call carries no credential the broker accepts: send 'authorization: Bearer <API key or workload JWT>' or a client certificate.");
        }
        // A method no policy can name (one added to the contract without a complete (broker.v1.rpc) option) is refused, never open.
        if (CallerAction.FindByPath(context.Method) is not { } action)
        {
            var method = context.Method[ServicePrefix.Length..];
            audit.Denied(caller.Name, method, "-", "-", "call a method without a policy");
            throw new BrokerException(BrokerErrorReason.PermissionDenied, $"no caller may call '{method}' yet.") { Detail = "unknown_method" };
        }

        var call = new CallerContext(caller, action, logIds);
        call.AttachTo(http);
        return call;
    }

    /// <summary>The call's audit event and span tags; <paramref name="response"/> names the token's source when it handed one out.</summary>
    public void Succeeded(CallerContext call, object? response)
    {
        var source = (response as AccessToken)?.Source;
        Tag(call, source, "ok");
        audit.Succeeded(call.Action.AuditEvent, call.Caller.Name, call.Action.Name, call.Provider, call.Family, source);
    }

    /// <summary>The failed call's audit event and span tags; nothing for a cancelled call.</summary>
    public void Failed(CallerContext call, Exception exception)
    {
        switch (exception)
        {
            case BrokerException { Reason: BrokerErrorReason.PermissionDenied } denied:
                Tag(call, null, "permission_denied");
                audit.Denied(call.Caller.Name, call.Action.Name, call.Provider, call.Family, denied.Detail ?? "-");
                break;
            case BrokerException failed:
                Tag(call, null, BrokerErrors.ReasonOf(failed.Reason).ToLowerInvariant());
                audit.Failed(call.Caller.Name, call.Action.Name, call.Provider, call.Family, BrokerErrors.ReasonOf(failed.Reason));
                break;
            case OperationCanceledException:
                break;
            default:
                // Cluster failures and bugs: FailureStatuses maps them; the trail still records the attempt.
                Tag(call, null, "error");
                audit.Failed(call.Caller.Name, call.Action.Name, call.Provider, call.Family, exception.GetType().Name);
                break;
        }
    }

    /// <summary>The request's server span carries who, which provider and family (hashed), the outcome and the token's source.</summary>
    private static void Tag(CallerContext call, string? source, string outcome)
    {
        if (Activity.Current is not { } activity) return;
        activity.SetTag("broker.caller", call.Caller.Name);
        activity.SetTag("broker.provider", call.Provider);
        activity.SetTag("broker.family", call.Family);
        activity.SetTag("broker.outcome", outcome);
        if (source is not null) activity.SetTag("broker.token.source", source);
    }
}
