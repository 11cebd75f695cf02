using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Broker.Silo.Callers;

/// <summary>
/// <c>authorization: Bearer {API key}</c>. ASP.NET Core has no API-key scheme of its own; this one only
/// hashes the key and looks it up, everything else (tickets, the pipeline) is the framework's.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, CallerRegistry callers)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (BearerCredential.From(Request) is not { } key) return Task.FromResult(AuthenticateResult.NoResult());
        return Task.FromResult(callers.FindByApiKey(key) is { } caller
            ? AuthenticateResult.Success(new AuthenticationTicket(CallerRegistry.PrincipalFor(caller, SchemeName), SchemeName))
            : AuthenticateResult.Fail("unknown API key"));
    }
}

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
    public static bool IsJwt(string credential) => credential.Count(c => c == '.') == 2;
}
