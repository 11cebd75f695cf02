using Broker.Abstractions;
using Broker.V1;
using Google.Protobuf;
using Grpc.Core;

namespace Broker.Silo.Api;

/// <summary>
/// Binds <see cref="TokenBrokerService"/> as the generated code does, except that a request that is not a valid protobuf
/// message (truncated, invalid UTF-8 in a string, a length past the end) is INVALID_ARGUMENT with the broker's
/// ErrorInfo. gRPC reads the request before any interceptor runs and answers any other failure there as UNKNOWN.
/// grpc-dotnet, JSON transcoding and reflection find this class through <see cref="BindServiceMethodAttribute"/>
/// on the service, and the contract's descriptor through <see cref="Descriptor"/>.
/// </summary>
public static class TypedRequestBinding
{
    public static Google.Protobuf.Reflection.ServiceDescriptor Descriptor => TokenBroker.Descriptor;

    public static void BindService(ServiceBinderBase binder, TokenBroker.TokenBrokerBase? service) =>
        TokenBroker.BindService(new Binder(binder), service!);

    private sealed class Binder(ServiceBinderBase inner) : ServiceBinderBase
    {
        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler) =>
            inner.AddMethod(new Method<TRequest, TResponse>(method.Type, method.ServiceName, method.Name,
                Typed(method.RequestMarshaller), method.ResponseMarshaller), handler);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler) =>
            inner.AddMethod(new Method<TRequest, TResponse>(method.Type, method.ServiceName, method.Name,
                Typed(method.RequestMarshaller), method.ResponseMarshaller), handler);
    }

    private static Marshaller<T> Typed<T>(Marshaller<T> marshaller) => new(marshaller.ContextualSerializer, context =>
    {
        try
        {
            return marshaller.ContextualDeserializer(context);
        }
        catch (InvalidProtocolBufferException)
        {
            throw BrokerErrors.ToRpcException(new BrokerException(BrokerErrorReason.InvalidArgument, "the request is not a valid broker.v1 message."));
        }
    });
}
