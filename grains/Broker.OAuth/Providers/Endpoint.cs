using System.Net;

namespace Broker.OAuth.Providers;

internal static class Endpoint
{
    /// <summary>RFC 9700 §2.6 asks for TLS everywhere; loopback is exempt because traffic never leaves the host.</summary>
    public static bool IsTransportAllowed(Uri uri, bool requireHttps) =>
        uri.Scheme == Uri.UriSchemeHttps
        || (uri.Scheme == Uri.UriSchemeHttp && (!requireHttps || IsLoopback(uri)));

    private static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
}
