using System.Diagnostics;
using Broker.Abstractions;
using Broker.Silo.Api;
using Broker.Silo.Audit;
using Broker.V1;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Broker.Silo.Callers;

/// <summary>
/// Every TokenBroker call: resolve the caller the authentication middleware found (UNAUTHENTICATED when none,
/// before the service or any grain runs), then write one audit event with the outcome.
/// </summary>
public sealed class CallerInterceptor(CallerRegistry callers, AuditLog audit, Broker.Abstractions.Identity.FamilyLogId logIds) : Interceptor
{
    private static readonly string ServicePrefix = $"/{TokenBroker.Descriptor.FullName}/";

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        if (!context.Method.StartsWith(ServicePrefix, StringComparison.Ordinal))
            return await continuation(request, context); // health and reflection: open
        TResponse response = default!;
        await Guard(context, async () => response = await continuation(request, context), () => response);
        return response;
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
        await Guard(context, () => continuation(request, responseStream, context), () => null);
    }

    private async Task Guard(ServerCallContext context, Func<Task> run, Func<object?> response)
    {
        var method = context.Method[ServicePrefix.Length..];
        var http = context.GetHttpContext();
        if (callers.Resolve(http.User) is not { } caller)
        {
            var presented = http.Request.Headers.Authorization.Count > 0 || http.Connection.ClientCertificate is not null;
            audit.Unauthenticated(method, context.Peer, presented ? "credential rejected" : "no credential");
            throw new BrokerException(BrokerErrorReason.Unauthenticated,
                "the call carries no credential the broker accepts: send 'authorization: Bearer <API key or workload JWT>' or a client certificate.");
        }
        // A method no policy can name (one added to the contract without a complete (broker.v1.rpc) option) is refused, never open.
        if (CallerAction.Find(method) is not { } action)
        {
            audit.Denied(caller.Name, method, "-", "-", "call a method without a policy");
            throw new BrokerException(BrokerErrorReason.PermissionDenied, $"no caller may call '{method}' yet.") { Detail = "unknown_method" };
        }

        var call = new CallerContext(caller, action, logIds);
        call.AttachTo(http);
        // Grain calls of this request carry the caller: the token budget gives each caller its own share.
        Broker.Abstractions.Grains.CallerRequestContext.Set(caller.Name);
        try
        {
            await run();
            Record(call, response());
        }
        catch (BrokerException ex) when (ex.Reason == BrokerErrorReason.PermissionDenied)
        {
            Tag(call, null, "permission_denied");
            audit.Denied(caller.Name, action.Name, call.Provider, call.Family, ex.Detail ?? "-");
            throw;
        }
        catch (BrokerException ex)
        {
            Tag(call, null, BrokerErrors.ReasonOf(ex.Reason).ToLowerInvariant());
            audit.Failed(caller.Name, action.Name, call.Provider, call.Family, BrokerErrors.ReasonOf(ex.Reason));
            throw;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Cluster failures and bugs: the exception interceptor maps them; the trail still records the attempt.
            Tag(call, null, "error");
            audit.Failed(caller.Name, action.Name, call.Provider, call.Family, ex.GetType().Name);
            throw;
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
