using Broker.Abstractions;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Broker.Silo.Api;

/// <summary>
/// Turns failures into typed statuses: a <see cref="BrokerException"/> keeps its reason; a silo or cluster
/// failure becomes UNAVAILABLE (safe to retry); anything else is INTERNAL, logged without its message
/// reaching the caller.
/// </summary>
public sealed partial class BrokerExceptionInterceptor(ILogger<BrokerExceptionInterceptor> logger) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        TResponse response = default!;
        await Map(context, async () => response = await continuation(request, context));
        return response;
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation) =>
        Map(context, () => continuation(request, responseStream, context));

    private async Task Map(ServerCallContext context, Func<Task> run)
    {
        try
        {
            await run();
        }
        catch (BrokerException ex)
        {
            LogRejected(logger, context.Method, BrokerErrors.ReasonOf(ex.Reason));
            throw BrokerErrors.ToRpcException(ex);
        }
        catch (Broker.Grains.Storage.StorageUnreachableException ex)
        {
            LogClusterFailure(logger, context.Method, ex.GetType().Name);
            throw BrokerErrors.ToRpcException(new BrokerException(BrokerErrorReason.ProviderUnavailable,
                "the broker's state store cannot be reached right now; retry.", TimeSpan.FromSeconds(1)) { Detail = "storage" });
        }
        catch (Exception ex) when (ex is OrleansException or TimeoutException or SiloUnavailableException)
        {
            LogClusterFailure(logger, context.Method, ex.GetType().Name);
            throw BrokerErrors.ToRpcException(new BrokerException(BrokerErrorReason.ProviderUnavailable,
                "the broker cluster could not complete the call; retry.", TimeSpan.FromSeconds(1)) { Detail = "cluster" });
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            LogUnexpected(logger, context.Method, ex.GetType().FullName ?? "?");
            throw new RpcException(new Grpc.Core.Status(StatusCode.Internal, "internal error"));
        }
    }

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "{Method} rejected: {Reason}.")]
    private static partial void LogRejected(ILogger logger, string method, string reason);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Warning, Message = "{Method} failed in the cluster: {Error}.")]
    private static partial void LogClusterFailure(ILogger logger, string method, string error);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Error, Message = "{Method} failed unexpectedly: {Error}.")]
    private static partial void LogUnexpected(ILogger logger, string method, string error);
}
