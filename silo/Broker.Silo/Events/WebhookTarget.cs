using System.Net;
using System.Net.Sockets;
using Broker.Silo.Callers;

namespace Broker.Silo.Events;

/// <summary>The rules a webhook target obeys: at start (scheme, secret) and at each delivery (where its name resolves: SSRF).</summary>
public static class WebhookTarget
{
    public const string SecretPrefix = "whsec_";

    /// <summary>What is wrong with a caller's webhook settings, each as "Setting problem".</summary>
    public static IEnumerable<string> Problems(WebhookOptions webhook)
    {
        if (!Uri.TryCreate(webhook.Url, UriKind.Absolute, out var url) || url.Scheme is not ("https" or "http"))
            yield return "Url must be an absolute https URL.";
        else if (url.Scheme == Uri.UriSchemeHttp && !Broker.OAuth.Providers.Endpoint.IsLoopback(url))
            yield return "Url must use https (loopback is exempt).";
        else if (url.UserInfo.Length > 0 || url.Fragment.Length > 0)
            yield return "Url may not carry user information or a fragment.";
        if (SigningKey(webhook.Secret) is null)
            yield return $"Secret must be {SecretPrefix} followed by base64 of 24-64 random bytes.";
    }

    /// <summary>The key bytes of a <c>whsec_</c> secret, or null when it is not one.</summary>
    public static byte[]? SigningKey(string? secret)
    {
        if (secret is null || !secret.StartsWith(SecretPrefix, StringComparison.Ordinal)) return null;
        var buffer = new byte[96];
        return Convert.TryFromBase64String(secret[SecretPrefix.Length..], buffer, out var length) && length is >= 24 and <= 64
            ? buffer[..length]
            : null;
    }

    /// <summary>
    /// Private (RFC 1918, fc00::/7), loopback, link-local (169.254/16 with cloud metadata, fe80::/10), unspecified, CGNAT
    /// (100.64/10) and multicast addresses: the network behind the broker, refused unless the caller allows it.
    /// </summary>
    public static bool IsPrivate(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)) return true;
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var bytes = address.GetAddressBytes();
            return address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast || (bytes[0] & 0xFE) == 0xFC;
        }
        var b = address.GetAddressBytes();
        return b[0] == 10
            || (b[0] == 172 && (b[1] & 0xF0) == 16)
            || (b[0] == 192 && b[1] == 168)
            || (b[0] == 169 && b[1] == 254)
            || (b[0] == 100 && (b[1] & 0xC0) == 64)
            || b[0] == 0
            || b[0] >= 224;
    }
}
