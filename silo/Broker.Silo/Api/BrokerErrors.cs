using System.Text;
using Broker.Abstractions;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;

namespace Broker.Silo.Api;

/// <summary>How a <see cref="BrokerErrorReason"/> travels: a status code and an ErrorInfo in the rich status.</summary>
public static class BrokerErrors
{
    public const string Domain = "broker.v1";

    public static Code CodeOf(BrokerErrorReason reason) => reason switch
    {
        BrokerErrorReason.InvalidArgument => Code.InvalidArgument,
        BrokerErrorReason.UnknownProvider => Code.NotFound,
        BrokerErrorReason.ProviderUnavailable => Code.Unavailable,
        BrokerErrorReason.Throttled => Code.ResourceExhausted,
        BrokerErrorReason.StateUnreadable => Code.DataLoss,
        BrokerErrorReason.Unauthenticated => Code.Unauthenticated,
        BrokerErrorReason.PermissionDenied => Code.PermissionDenied,
        _ => Code.FailedPrecondition,
    };

    /// <summary>UPPER_SNAKE_CASE of the enum name: the ErrorInfo reason.</summary>
    public static string ReasonOf(BrokerErrorReason reason)
    {
        var name = reason.ToString();
        var result = new StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            if (i > 0 && char.IsUpper(name[i])) result.Append('_');
            result.Append(char.ToUpperInvariant(name[i]));
        }
        return result.ToString();
    }

    public static RpcException ToRpcException(BrokerException ex)
    {
        var info = new ErrorInfo { Reason = ReasonOf(ex.Reason), Domain = Domain };
        if (ex.Detail is not null) info.Metadata["detail"] = ex.Detail;
        var status = new Google.Rpc.Status
        {
            Code = (int)CodeOf(ex.Reason),
            Message = ex.Message,
            Details = { Any.Pack(info) },
        };
        if (ex.RetryAfter is { } retryAfter)
        {
            status.Details.Add(Any.Pack(new RetryInfo { RetryDelay = Duration.FromTimeSpan(retryAfter) }));
        }
        return status.ToRpcException();
    }
}
