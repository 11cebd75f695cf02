namespace Broker.OAuth.Providers;

/// <summary>How the broker authenticates to a provider's token endpoint (RFC 6749 §2.3, RFC 7591 names).</summary>
public enum ClientAuthenticationMethod
{
    ClientSecretBasic,
    ClientSecretPost,
    /// <summary>A short-lived JWT signed with the client's private key (RFC 7523 §2.2, OIDC "private_key_jwt").</summary>
    PrivateKeyJwt,
    /// <summary>Mutual TLS with the client's certificate (RFC 8705 §2, "tls_client_auth" and "self_signed_tls_client_auth").</summary>
    TlsClientAuth,
}

/// <summary>What a client assertion's <c>aud</c> names (RFC 7523 §3 allows either).</summary>
public enum ClientAssertionAudience
{
    /// <summary>The issuer identifier: how RFC 7523 identifies the authorization server.</summary>
    Issuer,
    /// <summary>The token endpoint URL, which some servers require.</summary>
    TokenEndpoint,
}

/// <summary>Whether tokens from a provider are sender-constrained with DPoP (RFC 9449).</summary>
public enum DpopMode
{
    /// <summary>Bearer tokens; no proofs are sent.</summary>
    Off,
    /// <summary>Proofs are sent when the provider's metadata lists <c>dpop_signing_alg_values_supported</c> with ES256.</summary>
    Opportunistic,
    /// <summary>Proofs are always sent.</summary>
    Required,
}

/// <summary>
/// One authorization server, configured under <c>Broker:Providers:{name}</c>. Endpoints come from its
/// metadata document (RFC 8414 / OpenID discovery) unless set explicitly here.
/// </summary>
public sealed class ProviderOptions
{
    /// <summary>The issuer identifier (RFC 8414 §2); the metadata document must name exactly this issuer.</summary>
    public string? Issuer { get; set; }

    /// <summary>Where to read the metadata; defaults to the OpenID and then the RFC 8414 well-known location of <see cref="Issuer"/>.</summary>
    public string? MetadataAddress { get; set; }

    /// <summary>Set to false only for providers that publish no metadata; then the endpoints below are required.</summary>
    public bool UseDiscovery { get; set; } = true;

    public string? AuthorizationEndpoint { get; set; }
    public string? TokenEndpoint { get; set; }
    public string? RevocationEndpoint { get; set; }

    public string? ClientId { get; set; }

    /// <summary>The client secret itself. Prefer <see cref="ClientSecretFile"/> outside development.</summary>
    public string? ClientSecret { get; set; }

    /// <summary>A file whose content (trimmed) is the client secret, e.g. a mounted Kubernetes secret.</summary>
    public string? ClientSecretFile { get; set; }

    public ClientAuthenticationMethod ClientAuthentication { get; set; } = ClientAuthenticationMethod.ClientSecretBasic;

    /// <summary>PrivateKeyJwt: the signing key, a PEM private key (RSA or EC) or a JWK with its private part.</summary>
    public string? ClientKeyFile { get; set; }

    /// <summary>PrivateKeyJwt: the <c>kid</c> registered at the provider; defaults to the JWK's kid, else its RFC 7638 thumbprint.</summary>
    public string? ClientKeyId { get; set; }

    /// <summary>PrivateKeyJwt: the <c>aud</c> of assertions.</summary>
    public ClientAssertionAudience ClientAssertionAudience { get; set; } = ClientAssertionAudience.Issuer;

    /// <summary>TlsClientAuth: the client certificate (PEM) and its key (PEM), presented on every TLS connection to the provider.</summary>
    public string? ClientCertificateFile { get; set; }

    public string? ClientCertificateKeyFile { get; set; }

    /// <summary>Scopes requested in every authorization, beside those the caller asks for.</summary>
    public string[] Scopes { get; set; } = [];

    /// <summary>
    /// The scopes of a client-credentials token requested without any: what "the provider's default" means, so that
    /// it can be checked against the caller's policy. With none, only a caller allowed every scope gets the server's choice.
    /// </summary>
    public string[] ClientCredentialsScopes { get; set; } = [];

    /// <summary>Lifetime assumed when a token response omits expires_in (never "valid forever").</summary>
    public TimeSpan DefaultAccessTokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How long the provider accepts an already-used refresh token again (Okta's grace period, Auth0's reuse
    /// interval). Zero, the default, means any second use revokes the family: a refresh whose answer was
    /// lost is then never replayed.
    /// </summary>
    public TimeSpan RefreshTokenReuseLeeway { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// How long the provider keeps an unused refresh token valid, when known. A refresh token younger than
    /// this that the provider rejects with invalid_grant was most likely used by someone else.
    /// </summary>
    public TimeSpan? RefreshTokenLifetime { get; set; }

    /// <summary>
    /// Refresh a family that has not been refreshed for this long even if nobody asks for a token, for
    /// providers that revoke idle refresh tokens. Null (the default) turns keep-alive off.
    /// </summary>
    public TimeSpan? KeepAliveInterval { get; set; }

    /// <summary>
    /// Revoke (RFC 7009) the grant a new authorization of the same family replaces. True by default. Set false at providers
    /// where all of a user's authorizations of one client are one grant (Google): there revoking the old refresh token
    /// revokes the new one too. A grant replaced by another upstream account is revoked either way.
    /// </summary>
    public bool RevokeReplacedGrant { get; set; } = true;

    /// <summary>
    /// How long a refresh, code redemption or other single-attempt token request may take before it is given up (and
    /// its outcome is unknown). A lost refresh answer is replayed only if the replay can arrive inside
    /// <see cref="RefreshTokenReuseLeeway"/>, counting this timeout for its transit: keep it well under the leeway.
    /// </summary>
    public TimeSpan TokenRequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// After a token request of this client ends without an answer (timed out, or its connection failed after sending),
    /// every silo holds back new token requests this long, doubling with each consecutive unanswered one up to
    /// <see cref="MaxUnansweredBackoff"/>; then one request probes the provider before the others follow.
    /// </summary>
    public TimeSpan UnansweredBackoff { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest hold after consecutive unanswered token requests (see <see cref="UnansweredBackoff"/>).</summary>
    public TimeSpan MaxUnansweredBackoff { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Token requests per minute this client may send to the provider, across the cluster.</summary>
    public int TokenRequestsPerMinute { get; set; } = 600;

    /// <summary>How many token requests may go at once before <see cref="TokenRequestsPerMinute"/> paces them.</summary>
    public int TokenRequestBurst { get; set; } = 60;

    /// <summary>
    /// The share of <see cref="TokenRequestsPerMinute"/> and <see cref="TokenRequestBurst"/> one caller may use (0-1]:
    /// a caller that spends its share is held back alone, and the rest stays for the others.
    /// </summary>
    public double CallerTokenRequestShare { get; set; } = 0.5;

    /// <summary>
    /// How many distinct client-token keys (scope set + resource) one caller may have requested tokens for within an
    /// hour: each is a grain, an upstream request and a stored row.
    /// </summary>
    public int MaxClientTokenKeysPerCaller { get; set; } = 100;

    /// <summary>Plain-HTTP endpoints are refused unless they are on a loopback address or this is false.</summary>
    public bool RequireHttps { get; set; } = true;

    public const int DefaultMaxResponseBytes = 64 * 1024;

    /// <summary>
    /// The largest answer read from this provider (token, revocation, discovery): a larger one is refused unread rather
    /// than buffered whole.
    /// </summary>
    public int MaxResponseBytes { get; set; } = DefaultMaxResponseBytes;

    /// <summary>How long a fetched metadata document is used before it is fetched again.</summary>
    public TimeSpan MetadataRefreshInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Thresholds of this provider's circuit breakers (one for refresh and redemption, one for the rest).</summary>
    public Http.CircuitBreakerOptions CircuitBreaker { get; set; } = new();

    /// <summary>
    /// DPoP (RFC 9449): Off (the default), Opportunistic or Required. With DPoP, every family and client token has its own
    /// key pair held by the broker; callers get proofs from CreateProof.
    /// </summary>
    public DpopMode Dpop { get; set; } = DpopMode.Off;

    /// <summary>Whether to send an OIDC nonce and expect an ID token (set when "openid" is among the scopes).</summary>
    public bool? OpenIdConnect { get; set; }
}

/// <summary>The providers section: <c>Broker:Providers</c>, keyed by provider name.</summary>
public sealed class ProvidersOptions
{
    public const string Section = "Broker:Providers";

    public Dictionary<string, ProviderOptions> Providers { get; } = new(StringComparer.Ordinal);
}
