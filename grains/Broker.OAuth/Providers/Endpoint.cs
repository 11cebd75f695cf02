using System.Net;

namespace Broker.OAuth.Providers;

/// <summary>The transport rule every outgoing endpoint obeys (providers, and the workload JWT issuer).</summary>
public static class Endpoint
{
    /// <summary>RFC 9700 §2.6 asks for TLS everywhere; loopback is exempt because traffic never leaves the host.</summary>
    public static bool IsTransportAllowed(Uri uri, bool requireHttps) =>
        uri.Scheme == Uri.UriSchemeHttps
        || (uri.Scheme == Uri.UriSchemeHttp && (!requireHttps || IsLoopback(uri)));

    /// <summary>A loopback address or <c>localhost</c>: traffic that never leaves the host.</summary>
    public static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
}
