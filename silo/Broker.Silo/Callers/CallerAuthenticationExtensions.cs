using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Certificate;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Broker.Abstractions.Settings;
using Broker.Silo.Hosting;

namespace Broker.Silo.Callers;

public static class CallerAuthenticationExtensions
{
    /// <summary>
    /// Caller authentication: API keys looked up by <see cref="CallerAuthenticator"/>, the framework's handlers for
    /// JWT bearer (Microsoft.IdentityModel) workload identities and certificates (mutual TLS). They only name the
    /// caller; <see cref="CallerGate"/> enforces.
    /// </summary>
    public static WebApplicationBuilder AddBrokerCallers(this WebApplicationBuilder builder, BrokerMode mode, HttpEndpointOptions http)
    {
        // Read now: the registry and the JWT handler are built from them.
        var settings = builder.Services.AddBrokerOptionsNow(builder.Configuration, CallerAuthenticationOptions.Section,
            new CallerAuthenticationOptionsValidator());
        var callers = builder.Services.AddBrokerOptionsNow(builder.Configuration, CallerOptions.Section,
            new CallerOptionsValidator(settings), (section, o) => section.Bind(o.Callers));

        var registry = new CallerRegistry(callers.Callers, openForDevelopment: mode == BrokerMode.Embedded);
        // The development caller may do anything: it is never served beyond loopback.
        if (registry.IsOpenForDevelopment && !System.Net.IPAddress.IsLoopback(System.Net.IPAddress.Parse(http.BindAddress)))
        {
            throw new Microsoft.Extensions.Options.OptionsValidationException(HttpEndpointOptions.Section, typeof(HttpEndpointOptions),
            [
                $"{HttpEndpointOptions.Section}:BindAddress is {http.BindAddress}, beyond loopback, and no caller is configured ({CallerOptions.Section}): " +
                "embedded mode would accept every call from the network as the all-powerful development caller. Configure callers, or bind to 127.0.0.1.",
            ]);
        }
        builder.Services.AddSingleton(registry);

        var jwt = settings.Jwt;
        builder.Services.AddSingleton(new CallerAuthenticator(registry, acceptsJwt: jwt.Authority is not null,
            acceptsCertificates: http.ClientCertificateAuthorityPath is not null));
        // Only the handlers for JWTs and certificates, and only when configured: CallerAuthenticator calls them by name
        // for the calls that present one. Without them no authentication middleware runs in front of every request.
        if (jwt.Authority is null && http.ClientCertificateAuthorityPath is null) return builder;
        var authentication = builder.Services.AddAuthentication();

        if (jwt.Authority is not null)
        {
            authentication.AddJwtBearer(o =>
            {
                o.Authority = jwt.Authority;
                o.Audience = jwt.Audience;
                o.RequireHttpsMetadata = jwt.RequireHttpsMetadata;
                o.MapInboundClaims = false; // keep "sub" as "sub"
                // Discovery and JWKS answers are buffered up to this size and refused beyond it (the handler's own default is 10 MB).
                o.Backchannel = new HttpClient(new SocketsHttpHandler())
                {
                    MaxResponseContentBufferSize = jwt.MaxResponseBytes,
                    Timeout = o.BackchannelTimeout,
                };
                o.TokenValidationParameters.ClockSkew = jwt.ClockSkew;
                o.TokenValidationParameters.ValidateIssuer = true;
                o.TokenValidationParameters.ValidateAudience = true;
                o.TokenValidationParameters.ValidateLifetime = true;
                o.TokenValidationParameters.RequireExpirationTime = true;
                o.Events = new JwtBearerEvents
                {
                    OnTokenValidated = context =>
                    {
                        var subject = context.Principal?.FindFirst("sub")?.Value;
                        if (subject is not null && registry.FindByWorkloadSubject(subject) is { } caller)
                            context.Principal = CallerRegistry.PrincipalFor(caller, JwtBearerDefaults.AuthenticationScheme);
                        else
                            context.Fail("the workload is not a configured caller");
                        return Task.CompletedTask;
                    },
                    // The interceptor answers with a typed UNAUTHENTICATED; no HTTP challenge.
                    OnChallenge = context => { context.HandleResponse(); return Task.CompletedTask; },
                };
            });
        }

        if (http.ClientCertificateAuthorityPath is { } caPath)
        {
            var authorities = new X509Certificate2Collection();
            authorities.ImportFromPemFile(caPath);
            authentication.AddCertificate(o =>
            {
                o.AllowedCertificateTypes = CertificateTypes.Chained;
                o.ChainTrustValidationMode = X509ChainTrustMode.CustomRootTrust;
                o.CustomTrustStore = authorities;
                o.RevocationMode = X509RevocationMode.NoCheck; // private CA without CRL; pin by thumbprint instead
                o.ValidateCertificateUse = true;
                o.Events = new CertificateAuthenticationEvents
                {
                    OnCertificateValidated = context =>
                    {
                        if (registry.FindByCertificate(context.ClientCertificate) is { } caller)
                        {
                            context.Principal = CallerRegistry.PrincipalFor(caller, CertificateAuthenticationDefaults.AuthenticationScheme);
                            context.Success();
                        }
                        else
                        {
                            context.Fail("the certificate is not a configured caller");
                        }
                        return Task.CompletedTask;
                    },
                };
            });
        }
        return builder;
    }
}
