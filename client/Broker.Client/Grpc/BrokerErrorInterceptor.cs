using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Broker.Client.Grpc;

/// <summary>Turns failed calls into <see cref="BrokerClientException"/>s, so callers catch one typed exception.</summary>
internal sealed class BrokerErrorInterceptor : Interceptor
{
    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request,
        ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        var call = continuation(request, context);
        return new AsyncUnaryCall<TResponse>(Translate(call.ResponseAsync), call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    private static async Task<T> Translate<T>(Task<T> response)
    {
        try
        {
            return await response;
        }
        catch (RpcException ex)
        {
            throw BrokerClientException.From(ex);
        }
    }
}
