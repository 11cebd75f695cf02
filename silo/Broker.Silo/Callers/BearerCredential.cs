namespace Broker.Silo.Callers;

/// <summary>The bearer credential of a request, and what kind it is.</summary>
public static class BearerCredential
{
    private const string Prefix = "Bearer ";

    /// <summary>The credential in an Authorization header's value, without a copy (every call presents one); empty when none.</summary>
    public static ReadOnlySpan<char> Of(string header) =>
        header.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) ? header.AsSpan(Prefix.Length).Trim() : default;

    /// <summary>A JWS in compact form has three dot-separated parts; API keys have no dot.</summary>
    public static bool IsJwt(ReadOnlySpan<char> credential) => credential.Count('.') == 2;
}
