using Broker.Abstractions.Identity;

namespace Broker.OAuth.Providers;

/// <summary>A configured provider with everything resolved that does not need the network.</summary>
public sealed class Provider
{
    private readonly Lazy<string> _clientSecret;

    public Provider(ProviderName name, ProviderOptions options, Uri redirectUri)
    {
        Name = name;
        Options = options;
        Issuer = new Uri(options.Issuer!);
        RedirectUri = redirectUri;
        DefaultScopes = ScopeSet.Parse(options.Scopes);
        ClientCredentialsScopes = ScopeSet.Parse(options.ClientCredentialsScopes);
        // Read lazily so that a rotated secret file is picked up by a restart, and never logged.
        _clientSecret = new Lazy<string>(() => options.ClientSecret
            ?? File.ReadAllText(options.ClientSecretFile!).Trim());
        _signingKey = new Lazy<Microsoft.IdentityModel.Tokens.SigningCredentials>(() =>
            ClientSigningKey.Load(options.ClientKeyFile!, options.ClientKeyId));
    }

    private readonly Lazy<Microsoft.IdentityModel.Tokens.SigningCredentials> _signingKey;

    /// <summary>The private_key_jwt signing key (PrivateKeyJwt only).</summary>
    internal Microsoft.IdentityModel.Tokens.SigningCredentials SigningKey => _signingKey.Value;

    public ProviderName Name { get; }
    public ProviderOptions Options { get; }
    public Uri Issuer { get; }
    public string ClientId => Options.ClientId!;
    internal string ClientSecret => _clientSecret.Value;

    /// <summary>A distinct redirect URI per provider: part of the mix-up defence (RFC 9700 §4.4.2).</summary>
    public Uri RedirectUri { get; }

    public ScopeSet DefaultScopes { get; }

    /// <summary>The scopes a client-credentials request without any asks for (<see cref="ProviderOptions.ClientCredentialsScopes"/>).</summary>
    public ScopeSet ClientCredentialsScopes { get; }

    public bool IsOpenIdConnect(ScopeSet scopes) => Options.OpenIdConnect ?? scopes.Values.Contains("openid");
}
