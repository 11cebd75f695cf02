using Grpc.Core;

namespace Broker.Silo.Tests.Api;

/// <summary>
/// A call to a method or service the silo does not serve gets gRPC's UNIMPLEMENTED, whether gRPC's own fallback routes
/// or the silo's answer it.
/// </summary>
public sealed class UnknownMethodTests(EmbeddedBroker broker) : IClassFixture<EmbeddedBroker>
{
    private static readonly Marshaller<byte[]> Raw = Marshallers.Create(b => b, b => b);

    [Theory]
    [InlineData("broker.v1.TokenBroker", "NoSuchMethod")]
    [InlineData("broker.v9.NoSuchService", "GetAccessToken")]
    [InlineData("x", "y")]
    public async Task Unknown_methods_and_services_are_unimplemented(string service, string name)
    {
        var method = new Method<byte[], byte[]>(MethodType.Unary, service, name, Raw, Raw);
        var invoker = broker.Silo.Channel.CreateCallInvoker();

        var refused = await Assert.ThrowsAsync<RpcException>(() =>
            invoker.AsyncUnaryCall(method, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30)), []).ResponseAsync);

        Assert.Equal(StatusCode.Unimplemented, refused.StatusCode);
    }

    [Fact]
    public async Task The_answer_is_a_grpc_status_not_an_http_error()
    {
        // A client maps an HTTP 404 to UNIMPLEMENTED as well: on the wire the answer must be gRPC's own, HTTP 200 with grpc-status 12.
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{broker.Silo.GrpcPort}/broker.v1.TokenBroker/NoSuchMethod")
        {
            Version = System.Net.HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent([0, 0, 0, 0, 0]),
        };
        request.Content.Headers.ContentType = new("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");

        using var response = await http.SendAsync(request);

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        var status = response.Headers.TryGetValues("grpc-status", out var inHeaders) ? inHeaders.Single()
            : response.TrailingHeaders.GetValues("grpc-status").Single();
        Assert.Equal(((int)StatusCode.Unimplemented).ToString(System.Globalization.CultureInfo.InvariantCulture), status);
    }
}
