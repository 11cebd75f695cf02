using System.Net;
using Microsoft.Extensions.Options;

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

/// <summary>Checks the host settings, naming each one that is wrong.</summary>
public sealed class BrokerHostOptionsValidator :
    IValidateOptions<ClusterModeOptions>, IValidateOptions<HttpEndpointOptions>
{
    private readonly BrokerMode _mode;

    public BrokerHostOptionsValidator(BrokerMode mode) => _mode = mode;

    public ValidateOptionsResult Validate(string? name, ClusterModeOptions options)
    {
        var failures = new List<string>();
        var p = ClusterModeOptions.Section;
        if (_mode == BrokerMode.Cluster)
        {
            if (string.IsNullOrWhiteSpace(options.Redis)) failures.Add($"{p}:Redis is required in cluster mode (e.g. 127.0.0.1:6379).");
            if (string.IsNullOrWhiteSpace(options.PostgreSql)) failures.Add($"{p}:PostgreSql is required in cluster mode (an Npgsql connection string).");
            if (string.IsNullOrWhiteSpace(options.ClusterId)) failures.Add($"{p}:ClusterId must not be empty.");
            if (string.IsNullOrWhiteSpace(options.ServiceId)) failures.Add($"{p}:ServiceId must not be empty.");
            if (string.IsNullOrWhiteSpace(options.AdvertisedAddress)) failures.Add($"{p}:AdvertisedAddress must be an IP address or a host name.");
        }
        if (!IsPort(options.SiloPort)) failures.Add($"{p}:SiloPort must be 1-65535.");
        if (!IsPort(options.GatewayPort)) failures.Add($"{p}:GatewayPort must be 1-65535.");
        return Result(failures);
    }

    public ValidateOptionsResult Validate(string? name, HttpEndpointOptions options)
    {
        var failures = new List<string>();
        var p = HttpEndpointOptions.Section;
        if (!IPAddress.TryParse(options.BindAddress, out _)) failures.Add($"{p}:BindAddress must be an IP address.");
        if (!IsPort(options.GrpcPort)) failures.Add($"{p}:GrpcPort must be 1-65535.");
        if (!IsPort(options.HttpPort)) failures.Add($"{p}:HttpPort must be 1-65535.");
        if (options.GrpcPort == options.HttpPort) failures.Add($"{p}:GrpcPort and {p}:HttpPort must differ.");
        if (options.PublicBaseUrl is not null && !Uri.TryCreate(options.PublicBaseUrl, UriKind.Absolute, out _))
            failures.Add($"{p}:PublicBaseUrl must be an absolute URL.");
        if ((options.TlsCertificatePath is null) != (options.TlsKeyPath is null))
            failures.Add($"{p}:TlsCertificatePath and {p}:TlsKeyPath go together.");
        if (options.ClientCertificateAuthorityPath is not null && options.TlsCertificatePath is null)
            failures.Add($"{p}:ClientCertificateAuthorityPath needs TLS: set {p}:TlsCertificatePath and {p}:TlsKeyPath.");
        foreach (var (setting, path) in new[] { ("TlsCertificatePath", options.TlsCertificatePath), ("TlsKeyPath", options.TlsKeyPath), ("ClientCertificateAuthorityPath", options.ClientCertificateAuthorityPath) })
        {
            if (path is not null && !File.Exists(path)) failures.Add($"{p}:{setting} names a file that does not exist.");
        }
        return Result(failures);
    }

    private static bool IsPort(int port) => port is > 0 and <= 65535;

    private static ValidateOptionsResult Result(List<string> failures) =>
        failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
}
