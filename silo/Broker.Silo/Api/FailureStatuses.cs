using Broker.Abstractions;
using Grpc.Core;

namespace Broker.Silo.Api;

/// <summary>
/// Turns a failed call's exception into its typed status: a <see cref="BrokerException"/> keeps its reason; a silo or
/// cluster failure becomes UNAVAILABLE (safe to retry); anything else is INTERNAL, logged without its message reaching
/// the caller.
/// </summary>
public sealed partial class FailureStatuses(ILogger<FailureStatuses> logger)
{
    public RpcException Of(ServerCallContext context, Exception exception)
    {
        switch (exception)
        {
            case BrokerException ex:
                LogRejected(logger, context.Method, BrokerErrors.ReasonOf(ex.Reason));
                return BrokerErrors.ToRpcException(ex);
            case Broker.Grains.Storage.StorageUnreachableException ex:
                LogClusterFailure(logger, context.Method, ex.GetType().Name);
                return BrokerErrors.ToRpcException(new BrokerException(BrokerErrorReason.ProviderUnavailable,
                    "the broker's state store cannot be reached right now; retry.", TimeSpan.FromSeconds(1)) { Detail = "storage" });
            case OrleansException or TimeoutException or SiloUnavailableException:
                LogClusterFailure(logger, context.Method, exception.GetType().Name);
                return BrokerErrors.ToRpcException(new BrokerException(BrokerErrorReason.ProviderUnavailable,
                    "the broker cluster could not complete the call; retry.", TimeSpan.FromSeconds(1)) { Detail = "cluster" });
            default:
                LogUnexpected(logger, context.Method, exception.GetType().FullName ?? "?");
                return new RpcException(new Grpc.Core.Status(StatusCode.Internal, "internal error"));
        }
    }

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "{Method} rejected: {Reason}.")]
    private static partial void LogRejected(ILogger logger, string method, string reason);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Warning, Message = "{Method} failed in the cluster: {Error}.")]
    private static partial void LogClusterFailure(ILogger logger, string method, string error);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Error, Message = "{Method} failed unexpectedly: {Error}.")]
    private static partial void LogUnexpected(ILogger logger, string method, string error);
}
