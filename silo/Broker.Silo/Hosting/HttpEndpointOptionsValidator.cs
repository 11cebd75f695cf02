using System.Net;
using Microsoft.Extensions.Options;

namespace Broker.Silo.Hosting;

/// <summary>Checks the Kestrel endpoints, naming each setting that is wrong.</summary>
public sealed class HttpEndpointOptionsValidator : IValidateOptions<HttpEndpointOptions>
{
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
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    internal static bool IsPort(int port) => port is > 0 and <= 65535;
}
