using Broker.V1;

namespace Broker.Testing.Hosting;

/// <summary>How a test reaches a broker silo, in-process or a separate process: gRPC and its HTTP port.</summary>
public interface IBrokerEndpoints
{
    TokenBroker.TokenBrokerClient Client { get; }

    /// <summary>An HttpClient for the HTTP port (callback, health) that does not follow redirects.</summary>
    HttpClient Http { get; }
}
