using Broker.Abstractions;
using Broker.Silo.Api;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Broker.Silo.Cluster;

/// <summary>
/// A silo that left its cluster answers nothing but UNAVAILABLE (safe to retry elsewhere) while it stops: what it holds
/// in memory may have been revoked or rotated by the cluster it no longer sees.
/// </summary>
public sealed class ClusterMembershipInterceptor(ClusterMembership membership) : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        ThrowIfLost();
        return continuation(request, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ThrowIfLost();
        return continuation(request, responseStream, context);
    }

    private void ThrowIfLost()
    {
        if (membership.IsLost)
        {
            throw BrokerErrors.ToRpcException(new BrokerException(BrokerErrorReason.ProviderUnavailable,
                "this silo left its cluster and is restarting; retry on another silo.", TimeSpan.FromSeconds(1)) { Detail = "silo_leaving" });
        }
    }
}
