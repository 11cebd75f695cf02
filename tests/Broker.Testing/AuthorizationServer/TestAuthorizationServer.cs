using System.Net;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore; // GetOpenIddictServerRequest()
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace Broker.Testing.AuthorizationServer;

/// <summary>
/// A real OAuth 2.0 / OpenID Connect authorization server (OpenIddict 7.8) hosted on Kestrel
/// loopback for tests. It behaves like a production server on the wire (discovery, JWKS,
/// authorization code + PKCE, rolling refresh tokens with reuse detection, client credentials,
/// introspection, revocation) but logs users in without any UI.
/// </summary>
/// <remarks>
/// Test-only conveniences:
/// <list type="bullet">
/// <item>The authorization endpoint signs in the user named by <c>login_hint</c> (default <c>alice</c>)
/// and grants every requested scope.</item>
/// <item><c>test_deny=1</c> on the authorization request makes the server answer <c>access_denied</c>.</item>
/// <item><see cref="Stats"/> counts what the token endpoint really processed.</item>
/// </list>
/// Every instance has its own DI container, in-memory database, ephemeral keys and port, so
/// instances can run in parallel.
/// </remarks>
public sealed partial class TestAuthorizationServer : IAsyncDisposable
{
    public const string AuthorizationPath = "connect/authorize";
    public const string TokenPath = "connect/token";
    public const string IntrospectionPath = "connect/introspect";
    public const string RevocationPath = "connect/revoke";

    /// <summary>Resource indicators (RFC 8707) the server knows and every registered client may request; others are invalid_target.</summary>
    public static IReadOnlyList<string> SupportedResources { get; } = ["https://api.example/one", "https://api.example/two"];

    /// <summary>Scopes the server knows and every registered client may request.</summary>
    public static IReadOnlyList<string> SupportedScopes { get; } =
        [Scopes.OpenId, Scopes.OfflineAccess, "api", "api.read", "api.write"];

    private const string DefaultUser = "alice";

    private readonly WebApplication _app;
    private readonly HttpClient _http;
    private readonly TestAuthorizationServerClient _introspectionClient;

    private TestAuthorizationServer(
        WebApplication app, Uri issuer, TestAuthorizationServerStats stats, TestAuthorizationServerClient introspectionClient)
    {
        _app = app;
        Issuer = issuer;
        Stats = stats;
        _introspectionClient = introspectionClient;
        _http = new HttpClient { BaseAddress = issuer };
    }

    /// <summary>Issuer identifier; equal to the base address, e.g. <c>http://127.0.0.1:PORT/</c>.</summary>
    public Uri Issuer { get; }

    /// <summary>Token endpoint counters (thread-safe).</summary>
    public TestAuthorizationServerStats Stats { get; }

    public static async Task<TestAuthorizationServer> StartAsync(TestAuthorizationServerOptions? options = null)
    {
        options ??= new TestAuthorizationServerOptions();
        if (options.Clients.Count == 0)
        {
            throw new ArgumentException("At least one client must be registered.", nameof(options));
        }

        var stats = new TestAuthorizationServerStats();

        // An empty builder reads no appsettings.json / environment variables, so nothing in the
        // test host's configuration (ASPNETCORE_URLS, Kestrel:Endpoints, logging) leaks in.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            if (options.HttpsCertificate is not { } certificate) return;
            // TLS with client certificates asked for, not required; OpenIddict judges them per client (RFC 8705).
            listen.UseHttps(certificate, https =>
            {
                https.ClientCertificateMode = Microsoft.AspNetCore.Server.Kestrel.Https.ClientCertificateMode.AllowCertificate;
                https.AllowAnyClientCertificate();
            });
        }));
        builder.Services.AddRouting();
        builder.Services.AddLogging(logging =>
        {
            // Silent by default; a test can opt in (OpenIddict redacts secrets and tokens itself).
            options.ConfigureLogging?.Invoke(logging);
        });

        // One database per instance: parallel tests never see each other's tokens.
        var databaseName = "test-as-" + Guid.NewGuid().ToString("N");
        builder.Services.AddDbContext<StoreDbContext>(db =>
        {
            db.UseInMemoryDatabase(databaseName);
            db.UseOpenIddict();
            // The in-memory provider has no transactions; OpenIddict opens some (e.g. when deleting).
            db.ConfigureWarnings(w => w.Ignore(InMemoryEventId.TransactionIgnoredWarning));
        });

        builder.Services.AddOpenIddict()
            .AddCore(core => core.UseEntityFrameworkCore()
                .UseDbContext<StoreDbContext>()
                // Essential: by default the store revokes a token family with ExecuteUpdateAsync,
                // which the in-memory provider does not support. OpenIddict swallows that exception
                // (logs ID6229), so refresh token reuse would be rejected but the family would NOT be
                // revoked. Entity-by-entity updates work with the in-memory provider.
                .DisableBulkOperations())
            .AddServer(server =>
            {
                server.SetAuthorizationEndpointUris(AuthorizationPath)
                      .SetTokenEndpointUris(TokenPath)
                      .SetIntrospectionEndpointUris(IntrospectionPath)
                      .SetRevocationEndpointUris(RevocationPath);
                // Discovery (.well-known/openid-configuration) and JWKS (.well-known/jwks) are on by default.

                server.AllowAuthorizationCodeFlow()
                      .AllowRefreshTokenFlow()
                      .AllowClientCredentialsFlow()
                      .RequireProofKeyForCodeExchange();

                server.RegisterScopes([.. SupportedScopes]);
                server.RegisterResources([.. SupportedResources]);

                server.SetAccessTokenLifetime(options.AccessTokenLifetime)
                      .SetRefreshTokenLifetime(options.RefreshTokenLifetime)
                      .SetAuthorizationCodeLifetime(options.AuthorizationCodeLifetime);

                // Rolling refresh tokens are OpenIddict's default (each refresh redeems the old one and
                // issues a new one). A null leeway means a redeemed refresh token is never accepted again:
                // reuse yields invalid_grant and every token of the same authorization is revoked
                // (ValidateTokenEntry -> RevokeByAuthorizationIdAsync). Default is 30 s.
                server.SetRefreshTokenReuseLeeway(options.RefreshTokenReuseLeeway);

                // In-memory keys: nothing touches the X.509 store, nothing survives the instance.
                server.AddEphemeralEncryptionKey()
                      .AddEphemeralSigningKey()
                      // Access tokens become plain signed JWTs that tests (and the broker) can read.
                      .DisableAccessTokenEncryption();

                server.Configure(o =>
                {
                    // PKCE with S256 only: "plain" is enabled by default.
                    o.CodeChallengeMethods.Remove(CodeChallengeMethods.Plain);
                });

                server.UseAspNetCore()
                      .DisableTransportSecurityRequirement()
                      // The authorization request reaches our own endpoint (see AuthorizeAsync) after
                      // OpenIddict validated it. The token endpoint is NOT passthrough: OpenIddict signs
                      // in code/refresh grants itself; client_credentials is handled by an event handler.
                      .EnableAuthorizationEndpointPassthrough();

                if (options.HttpsCertificate is not null)
                {
                    // self_signed_tls_client_auth (RFC 8705 §2.2): a client whose JWKS holds its certificate may
                    // authenticate with it. Test certificates name no CRL or OCSP responder.
                    server.EnableSelfSignedTlsClientAuthentication(policy => policy.RevocationMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck);
                }

                RegisterEventHandlers(server, options, stats);
            });

        var app = builder.Build();
        app.UseAuthentication();
        app.MapMethods("/" + AuthorizationPath, [HttpMethods.Get, HttpMethods.Post], AuthorizeAsync);

        await app.StartAsync().ConfigureAwait(false);
        try
        {
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
                ?? throw new InvalidOperationException("Kestrel did not report a bound address.");
            var issuer = new Uri(address.TrimEnd('/') + "/", UriKind.Absolute);

            // The port is only known now, so the issuer is fixed after start (no request has been served
            // yet). Handlers read IOptionsMonitor<OpenIddictServerOptions>.CurrentValue per request.
            // Without this OpenIddict would derive the issuer from each request's Host header, which
            // breaks as soon as a caller uses "localhost" instead of 127.0.0.1.
            app.Services.GetRequiredService<IOptionsMonitor<OpenIddictServerOptions>>().CurrentValue.Issuer = issuer;

            await RegisterClientsAsync(app.Services, options.Clients).ConfigureAwait(false);

            return new TestAuthorizationServer(app, issuer, stats, options.Clients[0]);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Adds a redirect URI to an already registered client, e.g. the broker's callback once its port is bound.
    /// </summary>
    public async Task AddRedirectUriAsync(string clientId, Uri uri)
    {
        ArgumentException.ThrowIfNullOrEmpty(clientId);
        ArgumentNullException.ThrowIfNull(uri);

        await using var scope = _app.Services.CreateAsyncScope();
        var manager = scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>();
        var application = await manager.FindByClientIdAsync(clientId).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"Unknown client '{clientId}'.");

        // Round-trip through a descriptor: PopulateAsync copies the stored (hashed) secret, and
        // UpdateAsync only re-hashes when the secret changed, so the secret stays valid.
        var descriptor = new OpenIddictApplicationDescriptor();
        await manager.PopulateAsync(descriptor, application).ConfigureAwait(false);
        if (descriptor.RedirectUris.Add(uri))
        {
            await manager.UpdateAsync(application, descriptor).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Replaces a registered client's secret, as an operator rotating it at the provider does: requests with the old
    /// one are then refused with <c>invalid_client</c> until it is set back.
    /// </summary>
    public async Task SetClientSecretAsync(string clientId, string secret)
    {
        ArgumentException.ThrowIfNullOrEmpty(clientId);
        ArgumentException.ThrowIfNullOrEmpty(secret);

        await using var scope = _app.Services.CreateAsyncScope();
        var manager = scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>();
        var application = await manager.FindByClientIdAsync(clientId).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"Unknown client '{clientId}'.");
        var descriptor = new OpenIddictApplicationDescriptor();
        await manager.PopulateAsync(descriptor, application).ConfigureAwait(false);
        descriptor.ClientSecret = secret; // hashed by the manager
        await manager.UpdateAsync(application, descriptor).ConfigureAwait(false);
    }

    /// <summary>
    /// Asks the server's own introspection endpoint (over HTTP, authenticated as the first registered
    /// client) whether <paramref name="token"/> is active. Introspection only answers for tokens the
    /// calling client is the presenter or an audience of.
    /// </summary>
    public async Task<bool> IsActiveAsync(string token)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);

        using var request = new HttpRequestMessage(HttpMethod.Post, IntrospectionPath)
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { [Parameters.Token] = token }),
        };
        // client_secret_basic: RFC 6749 §2.3.1 wants the id and secret form-encoded before base64.
        var credentials = Uri.EscapeDataString(_introspectionClient.ClientId) + ":" + Uri.EscapeDataString(_introspectionClient.ClientSecret ?? "");
        request.Headers.Authorization = new AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(credentials)));

        using var response = await _http.SendAsync(request).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        await using var body = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
        using var json = await JsonDocument.ParseAsync(body).ConfigureAwait(false);
        return json.RootElement.TryGetProperty(Claims.Active, out var active) && active.ValueKind == JsonValueKind.True;
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

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

        var identity = new ClaimsIdentity(
            authenticationType: OpenIddictServerAspNetCoreDefaults.AuthenticationScheme,
            nameType: Claims.Name,
            roleType: Claims.Role);
        identity.SetClaim(Claims.Subject, user)
                .SetClaim(Claims.Name, user);
        // Grant exactly what was asked for (OpenIddict already rejected unknown/unpermitted scopes).
        // Scopes are emitted as the "scope" claim of access tokens and survive refreshes.
        identity.SetScopes(request.GetScopes());
        identity.SetDestinations(IdentityDestinations);

        await context.SignInAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme, new ClaimsPrincipal(identity))
            .ConfigureAwait(false);
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
                    var identity = new ClaimsIdentity(
                        authenticationType: OpenIddictServerAspNetCoreDefaults.AuthenticationScheme,
                        nameType: Claims.Name,
                        roleType: Claims.Role);
                    identity.SetClaim(Claims.Subject, clientId)
                            .SetClaim(Claims.Name, clientId);
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

    private static async Task RegisterClientsAsync(IServiceProvider services, IEnumerable<TestAuthorizationServerClient> clients)
    {
        await using var scope = services.CreateAsyncScope();
        var manager = scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>();

        foreach (var client in clients)
        {
            var descriptor = new OpenIddictApplicationDescriptor
            {
                ClientId = client.ClientId,
                ClientSecret = client.ClientSecret, // hashed by the manager before storage
                JsonWebKeySet = client.JsonWebKeySet,
                ClientType = ClientTypes.Confidential,
                ApplicationType = ApplicationTypes.Web,
                ConsentType = ConsentTypes.Implicit,
                DisplayName = client.ClientId,
                Permissions =
                {
                    Permissions.Endpoints.Authorization,
                    Permissions.Endpoints.Token,
                    Permissions.Endpoints.Introspection,
                    Permissions.Endpoints.Revocation,
                    Permissions.GrantTypes.AuthorizationCode,
                    Permissions.GrantTypes.RefreshToken,
                    Permissions.GrantTypes.ClientCredentials,
                    Permissions.ResponseTypes.Code,
                },
                // Per-client PKCE requirement, on top of the server-wide RequireProofKeyForCodeExchange().
                Requirements = { Requirements.Features.ProofKeyForCodeExchange },
            };
            foreach (var scopeName in SupportedScopes)
            {
                descriptor.Permissions.Add(Permissions.Prefixes.Scope + scopeName);
            }
            foreach (var resource in SupportedResources)
            {
                descriptor.Permissions.Add(Permissions.Prefixes.Resource + resource);
            }
            foreach (var uri in client.RedirectUris)
            {
                descriptor.RedirectUris.Add(uri);
            }

            // client_secret_basic and client_secret_post are both accepted server-wide by the ASP.NET
            // Core host (OpenIddictServerOptions.ClientAuthenticationMethods); no per-client setting.
            await manager.CreateAsync(descriptor).ConfigureAwait(false);
        }
    }

    /// <summary>OpenIddict entity store; lives only in this instance's in-memory database.</summary>
    private sealed class StoreDbContext(DbContextOptions<StoreDbContext> options) : DbContext(options);
}

/// <summary>Settings for <see cref="TestAuthorizationServer.StartAsync"/>.</summary>
public sealed class TestAuthorizationServerOptions
{
    /// <summary>Access token lifetime; tests of expiry set this to a couple of seconds.</summary>
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromSeconds(60);

    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Serve HTTPS with this certificate and accept self-signed TLS client certificates (RFC 8705 §2.2).</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2? HttpsCertificate { get; set; }

    /// <summary>The <c>aud</c> of client-credentials access tokens (signed JWTs), e.g. to act as a workload identity issuer.</summary>
    public string? ClientCredentialsAudience { get; set; }

    public TimeSpan AuthorizationCodeLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long a redeemed refresh token may still be used (for concurrent refreshes).
    /// <c>null</c> (default) = never: reuse is rejected and the whole token family revoked at once.
    /// </summary>
    public TimeSpan? RefreshTokenReuseLeeway { get; set; }

    /// <summary>
    /// Whether authorization responses carry the RFC 9207 <c>iss</c> parameter and discovery
    /// advertises <c>authorization_response_iss_parameter_supported</c>. OpenIddict's behaviour is on.
    /// </summary>
    public bool EmitIssuerParameter { get; set; } = true;

    /// <summary>
    /// Confidential clients registered at start. The first one is used by
    /// <see cref="TestAuthorizationServer.IsActiveAsync"/>.
    /// </summary>
    public IList<TestAuthorizationServerClient> Clients { get; set; } = [new TestAuthorizationServerClient()];

    /// <summary>Optional logging setup (no providers by default).</summary>
    public Action<ILoggingBuilder>? ConfigureLogging { get; set; }
}

/// <summary>A confidential client: secret via client_secret_basic or client_secret_post, PKCE required.</summary>
public sealed class TestAuthorizationServerClient
{
    public string ClientId { get; set; } = "broker";

    public string? ClientSecret { get; set; } = "broker-test-secret";

    /// <summary>Public keys for private_key_jwt client authentication (RFC 7523); OpenIddict accepts it for any client that has them.</summary>
    public Microsoft.IdentityModel.Tokens.JsonWebKeySet? JsonWebKeySet { get; set; }

    /// <summary>
    /// Scopes granted in every client-credentials token of this client besides those requested (also when none are),
    /// as servers do that attach a client's default scopes: the token response's <c>scope</c> then names them.
    /// </summary>
    public IList<string> ExtraClientCredentialsScopes { get; set; } = [];

    /// <summary>Redirect URIs known at start; more can be added with <see cref="TestAuthorizationServer.AddRedirectUriAsync"/>.</summary>
    public IList<Uri> RedirectUris { get; set; } = [];
}

