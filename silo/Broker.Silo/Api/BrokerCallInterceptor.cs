using Broker.Silo.Callers;
using Broker.Silo.Cluster;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Broker.Silo.Api;

/// <summary>
/// Every gRPC call the silo serves, in order: a silo that left its cluster refuses (<see cref="ClusterMembership"/>);
/// a TokenBroker call resolves its caller before any service code runs and leaves its audit event
/// (<see cref="CallerGate"/>); a failure becomes a typed status (<see cref="FailureStatuses"/>).
/// </summary>
/// <remarks>
/// One interceptor for the three rules, not one each: gRPC gives every interceptor of every call a resolved instance,
/// an async frame and a task, and with three they were the largest share of what a cache hit allocated after the
/// response itself. The rules stay in their own classes; this only orders them.
/// </remarks>
public sealed class BrokerCallInterceptor(ClusterMembership membership, CallerGate callers, FailureStatuses failures) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        CallerContext? call = null;
        try
        {
            membership.ThrowIfLost();
            if (CallerGate.Guards(context.Method)) call = await callers.BeginAsync(context);
            var response = await continuation(request, context);
            if (call is not null) callers.Succeeded(call, response);
            return response;
        }
        catch (Exception ex) when (IsMapped(call, ex))
        {
            throw failures.Of(context, ex);
        }
    }

    /// <summary>WatchEvents: the same rules as a unary call; the audit event is written when the stream ends.</summary>
    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        CallerContext? call = null;
        try
        {
            membership.ThrowIfLost();
            if (CallerGate.Guards(context.Method)) call = await callers.BeginAsync(context);
            await continuation(request, responseStream, context);
            if (call is not null) callers.Succeeded(call, response: null);
        }
        catch (Exception ex) when (IsMapped(call, ex))
        {
            throw failures.Of(context, ex);
        }
    }

    /// <summary>
    /// Records the failure in the caller's trail (in the filter, before the stack unwinds), then says whether it still
    /// needs a status: an <see cref="RpcException"/> already is one.
    /// </summary>
    private bool IsMapped(CallerContext? call, Exception exception)
    {
        if (call is not null) callers.Failed(call, exception);
        return exception is not RpcException;
    }
}
