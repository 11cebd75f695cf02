using Google.Rpc;
using Grpc.Core;

using Xunit;

namespace Broker.Testing;

public static class GrpcAssert
{
    /// <summary>Asserts the call fails with this status code and ErrorInfo reason; returns the status for more checks.</summary>
    public static async Task<Google.Rpc.Status> FailsWith(StatusCode code, string reason, Func<Task> call)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(call);
        Assert.Equal(code, ex.StatusCode);
        var status = ex.GetRpcStatus();
        Assert.NotNull(status);
        var info = status!.GetDetail<ErrorInfo>();
        Assert.NotNull(info);
        Assert.Equal("broker.v1", info!.Domain);
        Assert.Equal(reason, info.Reason);
        return status;
    }
}
