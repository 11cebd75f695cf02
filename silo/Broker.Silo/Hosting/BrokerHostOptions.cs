namespace Broker.Silo.Hosting;

public enum BrokerMode
{
    /// <summary>One silo, localhost clustering, in-memory storage: nothing survives a restart.</summary>
    Embedded,
    /// <summary>Redis clustering and PostgreSQL storage: durable, any number of silos.</summary>
    Cluster,
}

/// <summary><c>Broker:Mode</c>.</summary>
public sealed class BrokerHostOptions
{
    public const string Section = "Broker";
    public BrokerMode Mode { get; set; } = BrokerMode.Embedded;
}

/// <summary>The silo's place in the cluster: <c>Broker:Cluster</c>.</summary>
public sealed class ClusterModeOptions
{
    public const string Section = "Broker:Cluster";

    public string ClusterId { get; set; } = "broker";
    public string ServiceId { get; set; } = "broker";

    /// <summary>StackExchange.Redis configuration string, e.g. "127.0.0.1:6379". Cluster mode only.</summary>
    public string? Redis { get; set; }

    /// <summary>Npgsql connection string. Cluster mode only.</summary>
    public string? PostgreSql { get; set; }

    /// <summary>Silo-to-silo port.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>Port for Orleans clients (in-process callers).</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>The address other silos reach this one at: an IP, or a host name resolved at start (containers).</summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";
}

/// <summary>Kestrel endpoints: <c>Broker:Http</c>.</summary>
public sealed class HttpEndpointOptions
{
    public const string Section = "Broker:Http";

    public string BindAddress { get; set; } = "127.0.0.1";

    /// <summary>gRPC over HTTP/2 (cleartext needs HTTP/2 with prior knowledge, so it has its own port).</summary>
    public int GrpcPort { get; set; } = 5300;

    /// <summary>HTTP/1.1 for the browser-facing callback and health.</summary>
    public int HttpPort { get; set; } = 5380;

    /// <summary>The externally visible base URL of <see cref="HttpPort"/>; redirect URIs are built from it.</summary>
    public string? PublicBaseUrl { get; set; }

    /// <summary>PEM certificate (and <see cref="TlsKeyPath"/>) for TLS on the gRPC port; cleartext HTTP/2 when unset.</summary>
    public string? TlsCertificatePath { get; set; }

    public string? TlsKeyPath { get; set; }

    /// <summary>PEM file of the CAs whose client certificates may authenticate callers (mutual TLS). Needs TLS.</summary>
    public string? ClientCertificateAuthorityPath { get; set; }
}
