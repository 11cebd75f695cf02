using System.Security.Claims;
using Microsoft.AspNetCore; // GetOpenIddictServerRequest()
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace Broker.Testing.AuthorizationServer;

// What the endpoints do beyond OpenIddict's own validation: the login without UI and the server's event handlers.
public sealed partial class TestAuthorizationServer
{
    /// <summary>
    /// Passthrough authorization endpoint: OpenIddict has already validated client, redirect URI,
    /// response type, scopes and PKCE before this runs. We "log in" immediately, without UI.
    /// </summary>
    private static async Task AuthorizeAsync(HttpContext context)
    {
        var request = context.GetOpenIddictServerRequest()
            ?? throw new InvalidOperationException("The OpenIddict authorization request is missing.");

        if ((string?)request["test_deny"] == "1")
        {
            // Forbid with an error makes OpenIddict redirect to redirect_uri with error=access_denied
            // (plus state and, when enabled, iss), like a user declining consent.
            var denied = new AuthenticationProperties(new Dictionary<string, string?>
            {
                [OpenIddictServerAspNetCoreConstants.Properties.Error] = Errors.AccessDenied,
                [OpenIddictServerAspNetCoreConstants.Properties.ErrorDescription] = "The test user denied the request.",
            });
            await context.ForbidAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme, denied).ConfigureAwait(false);
            return;
        }

        var user = string.IsNullOrEmpty(request.LoginHint) ? DefaultUser : request.LoginHint;

        var identity = IdentityOf(user);
        // Grant exactly what was asked for (OpenIddict already rejected unknown/unpermitted scopes).
        // Scopes are emitted as the "scope" claim of access tokens and survive refreshes.
        identity.SetScopes(request.GetScopes());
        identity.SetDestinations(IdentityDestinations);

        await context.SignInAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme, new ClaimsPrincipal(identity))
            .ConfigureAwait(false);
    }

    /// <summary>An identity whose subject and name are <paramref name="subject"/>: a user's, or a client's own.</summary>
    private static ClaimsIdentity IdentityOf(string subject)
    {
        var identity = new ClaimsIdentity(
            authenticationType: OpenIddictServerAspNetCoreDefaults.AuthenticationScheme,
            nameType: Claims.Name,
            roleType: Claims.Role);
        identity.SetClaim(Claims.Subject, subject)
                .SetClaim(Claims.Name, subject);
        return identity;
    }

    // OpenIddict drops claims without destinations from tokens; sub and name go to both tokens.
    private static IEnumerable<string> IdentityDestinations(Claim claim) => claim.Type switch
    {
        Claims.Subject or Claims.Name => [Destinations.AccessToken, Destinations.IdentityToken],
        _ => [Destinations.AccessToken],
    };

    private static void RegisterEventHandlers(
        OpenIddictServerBuilder server, TestAuthorizationServerOptions options, TestAuthorizationServerStats stats)
    {
        // client_credentials: OpenIddict builds principals itself only for code/refresh grants (from the
        // redeemed token). For machine-to-machine tokens the subject is the client itself.
        server.AddEventHandler<HandleTokenRequestContext>(handler => handler
            .UseInlineHandler(context =>
            {
                if (context.Request.IsClientCredentialsGrantType())
                {
                    var clientId = context.Request.ClientId!; // client authentication already succeeded
                    var identity = IdentityOf(clientId);
                    var extra = options.Clients.FirstOrDefault(c => c.ClientId == clientId)?.ExtraClientCredentialsScopes ?? [];
                    identity.SetScopes(context.Request.GetScopes().Union(extra));
                    if (options.ClientCredentialsAudience is { } audience) identity.SetAudiences(audience);
                    identity.SetDestinations(static _ => [Destinations.AccessToken]);
                    context.SignIn(new ClaimsPrincipal(identity));
                }

                return ValueTask.CompletedTask;
            })
            .SetOrder(OpenIddictServerHandlers.Exchange.AttachPrincipal.Descriptor.Order + 1_000)
            .SetType(OpenIddictServerHandlerType.Custom));

        // Counting on the response event sees every token request exactly once, whatever its outcome
        // (including requests rejected during extraction/validation). It must run before the ASP.NET
        // Core host writes the response and marks the request handled, which stops the pipeline.
        server.AddEventHandler<ApplyTokenResponseContext>(handler => handler
            .UseInlineHandler(context =>
            {
                stats.Record(context.Request?.GrantType, context.Error, context.Response?.ErrorDescription);
                stats.Issued(SecretKind.CodeVerifier, context.Request?.CodeVerifier);
                stats.Issued(SecretKind.AccessToken, context.Response?.AccessToken);
                stats.Issued(SecretKind.RefreshToken, context.Response?.RefreshToken);
                stats.Issued(SecretKind.IdToken, context.Response?.IdToken);
                if (context.Request is { } request && request.IsRefreshTokenGrantType() && !string.IsNullOrEmpty(request.RefreshToken))
                    stats.RecordRefreshTokenPresented(request.RefreshToken);
                // Access tokens are plain JWTs here (encryption is off): their subject says whose grant was refreshed.
                if (context.Request?.IsRefreshTokenGrantType() == true && string.IsNullOrEmpty(context.Error) && context.Response?.AccessToken is { Length: > 0 } issued)
                    stats.RecordRefreshGrant(new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(issued).Subject);
                return ValueTask.CompletedTask;
            })
            .SetOrder(int.MinValue + 100_000)
            .SetType(OpenIddictServerHandlerType.Custom));

        if (!options.EmitIssuerParameter)
        {
            // OpenIddict always adds RFC 9207 "iss" to authorization responses and advertises
            // authorization_response_iss_parameter_supported=true; there is no switch. These two
            // handlers undo both, to test clients against servers without RFC 9207 support.
            server.AddEventHandler<ApplyAuthorizationResponseContext>(handler => handler
                .UseInlineHandler(context =>
                {
                    context.Response.Iss = null;
                    return ValueTask.CompletedTask;
                })
                .SetOrder(OpenIddictServerHandlers.Authentication.AttachIssuer.Descriptor.Order + 1)
                .SetType(OpenIddictServerHandlerType.Custom));

            server.AddEventHandler<HandleConfigurationRequestContext>(handler => handler
                .UseInlineHandler(context =>
                {
                    context.Metadata.Remove(Metadata.AuthorizationResponseIssParameterSupported);
                    return ValueTask.CompletedTask;
                })
                .SetOrder(OpenIddictServerHandlers.Discovery.AttachAdditionalMetadata.Descriptor.Order + 1)
                .SetType(OpenIddictServerHandlerType.Custom));
        }
    }
}
