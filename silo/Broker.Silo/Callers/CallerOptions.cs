namespace Broker.Silo.Callers;

/// <summary>
/// One service allowed to call the broker: <c>Broker:Callers:{name}</c>. How it proves who it is (any of the
/// credentials) and what it may do. Everything not granted here is denied.
/// </summary>
public sealed class CallerOptions
{
    public const string Section = "Broker:Callers";

    /// <summary>SHA-256 of each API key the caller may present, as <c>sha256:{64 hex digits}</c>. Keys are never configured in clear.</summary>
    public List<string> ApiKeyHashes { get; set; } = [];

    /// <summary>The <c>sub</c> claims of workload JWTs (validated per <c>Broker:Authentication:Jwt</c>) that are this caller.</summary>
    public List<string> WorkloadSubjects { get; set; } = [];

    /// <summary>SHA-256 thumbprints (hex) of client certificates that are this caller (mutual TLS on the gRPC port).</summary>
    public List<string> CertificateThumbprints { get; set; } = [];

    /// <summary>Provider names, or <c>*</c> for all.</summary>
    public List<string> Providers { get; set; } = [];

    /// <summary>Subjects: exact (<c>user-42</c>), prefix (<c>team-a/*</c>) or all (<c>*</c>).</summary>
    public List<string> Subjects { get; set; } = [];

    /// <summary>Scopes it may obtain tokens for, or <c>*</c> for any.</summary>
    public List<string> Scopes { get; set; } = [];

    /// <summary>Resource indicators (RFC 8707) it may ask client-credentials tokens for, exactly as sent, or <c>*</c>. None by default.</summary>
    public List<string> Resources { get; set; } = [];

    public bool MayGetClientTokens { get; set; }
    public bool MayBeginAuthorization { get; set; }

    /// <summary>
    /// Where this caller's users come back after logging in (BeginAuthorization's return_url), compared exactly: scheme,
    /// host, port and path. The service then completes the authorization for its signed-in user.
    /// </summary>
    public List<string> ReturnUrls { get; set; } = [];

    /// <summary>
    /// Lets BeginAuthorization go without a return URL: the callback then makes the tokens live for whoever finishes
    /// the login, so anyone who gets hold of the authorization URL can attach their own account to the subject. Only
    /// for flows with no application session (a CLI on the user's own machine). Off by default.
    /// </summary>
    public bool InsecureDirectCompletion { get; set; }
    public bool MayImport { get; set; }
    public bool MayRevoke { get; set; }

    /// <summary>Where this caller receives the events of the families its policy covers (Standard Webhooks). None by default.</summary>
    public WebhookOptions? Webhook { get; set; }
}

/// <summary><c>Broker:Callers:{name}:Webhook</c>: a receiver of signed events.</summary>
public sealed class WebhookOptions
{
    /// <summary>The receiver: https, or http on a loopback host.</summary>
    public string? Url { get; set; }

    /// <summary>The signing secret, <c>whsec_</c> and base64 of 24-64 random bytes (the receiver verifies with it).</summary>
    public string? Secret { get; set; }

    /// <summary>
    /// Lets the URL resolve to private, link-local or loopback addresses (an internal receiver). Off: those are refused
    /// at each delivery, so a caller's configuration cannot aim the broker at the network behind it (SSRF).
    /// </summary>
    public bool AllowPrivateNetwork { get; set; }
}

/// <summary>How callers' credentials are checked: <c>Broker:Authentication</c>.</summary>
public sealed class CallerAuthenticationOptions
{
    public const string Section = "Broker:Authentication";

    /// <summary>Workload identity tokens. Off when <see cref="WorkloadJwtOptions.Authority"/> is not set.</summary>
    public WorkloadJwtOptions Jwt { get; set; } = new();
}

/// <summary><c>Broker:Authentication:Jwt</c>: the issuer of workload JWTs, found by OpenID discovery (RFC 8414).</summary>
public sealed class WorkloadJwtOptions
{
    /// <summary>The issuer; its <c>/.well-known/openid-configuration</c> names the JWKS.</summary>
    public string? Authority { get; set; }

    /// <summary>The audience the tokens must carry (this broker).</summary>
    public string? Audience { get; set; }

    /// <summary>False only for a loopback issuer in development and tests.</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The largest discovery document or JWKS read from the issuer; a larger one is refused unread.</summary>
    public int MaxResponseBytes { get; set; } = 64 * 1024;
}

/// <summary>Every caller, keyed by name: <c>Broker:Callers</c>.</summary>
public sealed class CallersOptions
{
    public Dictionary<string, CallerOptions> Callers { get; } = new(StringComparer.Ordinal);
}
