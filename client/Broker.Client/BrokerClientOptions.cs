using System.Security.Cryptography.X509Certificates;

namespace Broker.Client;

/// <summary>How a service reaches the broker: <c>Broker:Client</c> when bound from configuration.</summary>
public sealed class BrokerClientOptions
{
    public const string Section = "Broker:Client";

    /// <summary>The broker's gRPC address, e.g. https://broker.internal:5300.</summary>
    public Uri? Address { get; set; }

    /// <summary>Deadline of each call; the broker answers cache hits in well under a millisecond.</summary>
    public TimeSpan Deadline { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Attempts (first included) of an idempotent call answered UNAVAILABLE.</summary>
    public int MaxAttempts { get; set; } = 4;

    /// <summary>An API key, sent as <c>authorization: Bearer</c>.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Or a token source for the caller's workload identity (a JWT), asked on every call.</summary>
    public Func<IServiceProvider, CancellationToken, Task<string>>? WorkloadToken { get; set; }

    /// <summary>Or a client certificate for mutual TLS.</summary>
    public X509Certificate2? ClientCertificate { get; set; }

    /// <summary>How long WatchEventsAsync waits before it resumes a stream that broke (UNAVAILABLE).</summary>
    public TimeSpan WatchReconnectDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long before expiry a token held by the HttpClient handler is asked for again.</summary>
    public TimeSpan HandlerRefreshBeforeExpiry { get; set; } = TimeSpan.FromSeconds(60);
}
