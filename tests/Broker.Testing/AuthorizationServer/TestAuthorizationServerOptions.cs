using Microsoft.Extensions.Logging;

namespace Broker.Testing.AuthorizationServer;

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
