using Broker.V1;
using Grpc.Net.Client;

namespace Broker.Testing.Hosting;

/// <summary>A silo some other tool started (compose/local-cluster.sh), reached on its ports with a caller's API key.</summary>
public sealed class ExternalSilo : IBrokerEndpoints, IDisposable
{
    private readonly GrpcChannel _channel;

    public ExternalSilo(int grpcPort, int httpPort, string apiKey)
    {
        _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
        Client = new TokenBroker.TokenBrokerClient(_channel.WithBearer(apiKey));
        Http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}/") };
        HttpPort = httpPort;
    }

    public TokenBroker.TokenBrokerClient Client { get; }
    public HttpClient Http { get; }
    public int HttpPort { get; }
    public Uri RedirectUri(string provider) => new($"http://127.0.0.1:{HttpPort}/oauth2/callback/{provider}");

    public void Dispose()
    {
        Http.Dispose();
        _channel.Dispose();
    }
}
