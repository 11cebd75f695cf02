using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Certificate;
using Microsoft.AspNetCore.Authentication.JwtBearer;

namespace Broker.Silo.Callers;

/// <summary>
/// Names the caller of one call, from what it presents: an API key is hashed and looked up here; a workload JWT or a
/// client certificate goes to the framework's handler for it (Microsoft.IdentityModel, the certificate chain). API keys
/// are the credential of nearly every call, and the authentication middleware in front of every request (scheme
/// selection, DI lookups, a ticket per call) cost more than the lookup itself.
/// </summary>
public sealed class CallerAuthenticator(CallerRegistry callers, bool acceptsJwt, bool acceptsCertificates)
{
    private static readonly ClaimsPrincipal Nobody = new(new ClaimsIdentity());

    /// <summary>The caller, or null when the call presents no credential the broker accepts.</summary>
    public ValueTask<Caller?> AuthenticateAsync(HttpContext http)
    {
        var credential = BearerCredential.Of(http.Request.Headers.Authorization.ToString());
        if (!credential.IsEmpty)
        {
            if (acceptsJwt && BearerCredential.IsJwt(credential))
                return ByHandlerAsync(http, JwtBearerDefaults.AuthenticationScheme);
            return new(callers.FindByApiKey(credential) is { } name ? callers.Named(name) : callers.Resolve(Nobody));
        }
        if (acceptsCertificates && http.Connection.ClientCertificate is not null)
            return ByHandlerAsync(http, CertificateAuthenticationDefaults.AuthenticationScheme);
        return new(callers.Resolve(Nobody));
    }

    private async ValueTask<Caller?> ByHandlerAsync(HttpContext http, string scheme)
    {
        var result = await http.AuthenticateAsync(scheme);
        return callers.Resolve(result.Succeeded ? result.Principal : Nobody);
    }
}
