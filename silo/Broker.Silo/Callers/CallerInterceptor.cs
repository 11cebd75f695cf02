using System.Diagnostics;
using Broker.Abstractions;
using Broker.Silo.Api;
using Broker.Silo.Audit;
using Broker.V1;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Broker.Silo.Callers;

/// <summary>
/// Every TokenBroker call: resolve the caller from the credential it presents (UNAUTHENTICATED when none,
/// before the service or any grain runs), then write one audit event with the outcome.
/// </summary>
public sealed class CallerInterceptor(CallerAuthenticator authenticator, AuditLog audit, Broker.Abstractions.Identity.FamilyLogId logIds) : Interceptor
{
    private static readonly string ServicePrefix = $"/{TokenBroker.Descriptor.FullName}/";

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        if (!context.Method.StartsWith(ServicePrefix, StringComparison.Ordinal))
            return await continuation(request, context); // health and reflection: open

        var call = await BeginAsync(context);
        try
        {
            var response = await continuation(request, context);
            Record(call, response);
            return response;
        }
        catch (Exception ex) when (Recorded(call, ex))
        {
            throw;
        }
    }

    /// <summary>WatchEvents: the same resolution, policy and audit as a unary call; the audit event is written when the stream ends.</summary>
    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        if (!context.Method.StartsWith(ServicePrefix, StringComparison.Ordinal))
        {
            await continuation(request, responseStream, context);
            return;
        }

        var call = await BeginAsync(context);
        try
        {
            await continuation(request, responseStream, context);
            Record(call, response: null);
        }
        catch (Exception ex) when (Recorded(call, ex))
        {
            throw;
        }
    }

    /// <summary>Who calls, and may they call this method at all: the caller's context, or a typed refusal (audited).</summary>
    private async ValueTask<CallerContext> BeginAsync(ServerCallContext context)
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

    /// <summary>The failed call's audit event and span tags; false (nothing recorded) for a cancelled call.</summary>
    private bool Recorded(CallerContext call, Exception exception)
    {
        switch (exception)
        {
            case BrokerException { Reason: BrokerErrorReason.PermissionDenied } denied:
                Tag(call, null, "permission_denied");
                audit.Denied(call.Caller.Name, call.Action.Name, call.Provider, call.Family, denied.Detail ?? "-");
                return true;
            case BrokerException failed:
                Tag(call, null, BrokerErrors.ReasonOf(failed.Reason).ToLowerInvariant());
                audit.Failed(call.Caller.Name, call.Action.Name, call.Provider, call.Family, BrokerErrors.ReasonOf(failed.Reason));
                return true;
            case OperationCanceledException:
                return false;
            default:
                // Cluster failures and bugs: the exception interceptor maps them; the trail still records the attempt.
                Tag(call, null, "error");
                audit.Failed(call.Caller.Name, call.Action.Name, call.Provider, call.Family, exception.GetType().Name);
                return true;
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

    private void Record(CallerContext call, object? response)
    {
        var source = (response as AccessToken)?.Source;
        Tag(call, source, "ok");
        audit.Succeeded(call.Action.AuditEvent, call.Caller.Name, call.Action.Name, call.Provider, call.Family, source);
    }
}
