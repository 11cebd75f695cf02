using Broker.OAuth.Providers;

namespace Broker.OAuth.Authorization;

/// <summary>
/// Where a user's browser goes back to the calling service after the login, carrying the completion handle. Like
/// redirect URIs (RFC 9700 §4.1.3), registered URLs are compared exactly, never as patterns: scheme, host, port and
/// path. The request may add a query of its own; it may not carry a fragment or credentials.
/// </summary>
public static class ReturnUrl
{
    public const int MaxLength = 2048;

    /// <summary>Why <paramref name="value"/> cannot be registered, or null when it can.</summary>
    public static string? WhyNotRegistrable(string value)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri)) return "must be an absolute URL.";
        if (!Endpoint.IsTransportAllowed(uri, requireHttps: true)) return "must be https (plain http only on a loopback address).";
        if (uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0) return "must have no query, fragment or user info.";
        return null;
    }

    /// <summary>The requested return URL when it matches one of <paramref name="registered"/>; null otherwise.</summary>
    public static Uri? Match(string requested, IEnumerable<string> registered)
    {
        if (requested.Length > MaxLength || !Uri.TryCreate(requested, UriKind.Absolute, out var uri)
            || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0)
            return null;
        foreach (var entry in registered)
        {
            if (Uri.TryCreate(entry, UriKind.Absolute, out var allowed)
                && string.Equals(uri.Scheme, allowed.Scheme, StringComparison.OrdinalIgnoreCase)
                && string.Equals(uri.IdnHost, allowed.IdnHost, StringComparison.OrdinalIgnoreCase)
                && uri.Port == allowed.Port
                && string.Equals(uri.AbsolutePath, allowed.AbsolutePath, StringComparison.Ordinal))
                return uri;
        }
        return null;
    }

    /// <summary><paramref name="returnUrl"/> with the completion handle added to its query.</summary>
    public static Uri WithCompletion(Uri returnUrl, string completion)
    {
        var separator = returnUrl.Query.Length > 0 ? "&" : "?";
        return new Uri($"{returnUrl.GetLeftPart(UriPartial.Query)}{separator}completion={Uri.EscapeDataString(completion)}");
    }
}
