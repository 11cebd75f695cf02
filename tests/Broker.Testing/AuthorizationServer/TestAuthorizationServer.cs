using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;

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

    /// <summary>OpenIddict entity store; lives only in this instance's in-memory database.</summary>
    private sealed class StoreDbContext(DbContextOptions<StoreDbContext> options) : DbContext(options);
}
