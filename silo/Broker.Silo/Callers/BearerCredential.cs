namespace Broker.Silo.Callers;

/// <summary>The bearer credential of a request, and what kind it is.</summary>
public static class BearerCredential
{
    public static string? From(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        const string prefix = "Bearer ";
        return header.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) && header.Length > prefix.Length
            ? header[prefix.Length..].Trim()
            : null;
    }

    /// <summary>A JWS in compact form has three dot-separated parts; API keys have no dot.</summary>
    public static bool IsJwt(string credential) => credential.AsSpan().Count('.') == 2;
}
