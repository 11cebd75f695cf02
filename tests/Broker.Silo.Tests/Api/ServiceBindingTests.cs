using System.Text;
using Grpc.Core;

namespace Broker.Silo.Tests.Api;

/// <summary>
/// The service is bound through TypedRequestBinding (typed refusals for malformed protobuf): gRPC reflection still
/// finds the contract through it.
/// </summary>
public sealed class ServiceBindingTests(EmbeddedBroker broker) : IClassFixture<EmbeddedBroker>
{
    private static readonly Marshaller<byte[]> Raw = Marshallers.Create(b => b, b => b);

    [Fact]
    public async Task Grpc_reflection_still_lists_the_broker_service()
    {
        var method = new Method<byte[], byte[]>(MethodType.DuplexStreaming, "grpc.reflection.v1alpha.ServerReflection", "ServerReflectionInfo", Raw, Raw);
        using var call = broker.Silo.Channel.CreateCallInvoker().AsyncDuplexStreamingCall(method, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30)));

        await call.RequestStream.WriteAsync([0x3a, 0x00]); // ServerReflectionRequest { list_services = "" }
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));

        Assert.Contains("broker.v1.TokenBroker", Encoding.UTF8.GetString(call.ResponseStream.Current), StringComparison.Ordinal);
    }
}
