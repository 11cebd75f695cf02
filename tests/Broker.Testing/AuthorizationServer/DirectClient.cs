using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;

namespace Broker.Testing.AuthorizationServer;

/// <summary>
/// A service that talks to the authorization server itself, as services do before they adopt the broker:
/// it gets its own tokens (code + PKCE through the test login) and can refresh them. Used to hand tokens over
/// to the broker, and to play "someone else" using a refresh token.
/// </summary>
public sealed class DirectClient(TestAuthorizationServer server, string clientId = "broker", string clientSecret = "broker-test-secret")
{
    public static readonly Uri RedirectUri = new("http://127.0.0.1:9/direct-client/callback");
    private static readonly HttpClient Http = new(new SocketsHttpHandler { AllowAutoRedirect = false });

    public sealed record Tokens(string AccessToken, string? RefreshToken, int ExpiresIn, string Scope);

    /// <summary>Runs a code flow for <paramref name="user"/>; the redirect URI must be registered (see <see cref="RegisterAsync"/>).</summary>
    public async Task<Tokens> AuthorizeAsync(string user, params string[] scopes)
    {
        var verifier = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var challenge = Convert.ToBase64String(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var url = QueryHelpers.AddQueryString(new Uri(server.Issuer, TestAuthorizationServer.AuthorizationPath).AbsoluteUri, new Dictionary<string, string?>
        {
            ["client_id"] = clientId,
            ["response_type"] = "code",
            ["redirect_uri"] = RedirectUri.AbsoluteUri,
            ["scope"] = string.Join(' ', scopes.Append("offline_access")),
            ["state"] = "direct",
            ["code_challenge"] = challenge,
            ["code_challenge_method"] = "S256",
            ["login_hint"] = user,
        });
        using var authorize = await Http.GetAsync(url);
        if (authorize.StatusCode != HttpStatusCode.Found && authorize.StatusCode != HttpStatusCode.Redirect)
            throw new InvalidOperationException($"authorize answered {(int)authorize.StatusCode}");
        var code = QueryHelpers.ParseQuery(authorize.Headers.Location!.Query)["code"].ToString();
        return await TokenRequestAsync(new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = code,
            ["redirect_uri"] = RedirectUri.AbsoluteUri,
            ["code_verifier"] = verifier,
        }) ?? throw new InvalidOperationException("code exchange failed");
    }

    /// <summary>Refreshes; null when the server refuses (invalid_grant).</summary>
    public Task<Tokens?> RefreshAsync(string refreshToken) => TokenRequestAsync(new Dictionary<string, string>
    {
        ["grant_type"] = "refresh_token",
        ["refresh_token"] = refreshToken,
    });

    /// <summary>A client-credentials token: what a workload gets from its identity provider.</summary>
    public Task<Tokens?> ClientCredentialsAsync(params string[] scopes) => TokenRequestAsync(new Dictionary<string, string>
    {
        ["grant_type"] = "client_credentials",
        ["scope"] = string.Join(' ', scopes),
    });

    public Task RegisterAsync() => server.AddRedirectUriAsync(clientId, RedirectUri);

    /// <summary>Revokes a token at the server (RFC 7009), as an administrator or a user's "sign out everywhere" would.</summary>
    public async Task RevokeAsync(string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.Issuer, TestAuthorizationServer.RevocationPath))
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token }),
        };
        request.Headers.Authorization = Basic();
        using var response = await Http.SendAsync(request);
        response.EnsureSuccessStatusCode();
    }

    private AuthenticationHeaderValue Basic() => new("Basic",
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(clientId)}:{Uri.EscapeDataString(clientSecret)}")));

    private async Task<Tokens?> TokenRequestAsync(Dictionary<string, string> form)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.Issuer, TestAuthorizationServer.TokenPath))
        {
            Content = new FormUrlEncodedContent(form),
        };
        request.Headers.Authorization = Basic();
        using var response = await Http.SendAsync(request);
        if (!response.IsSuccessStatusCode) return null;
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = json.RootElement;
        return new Tokens(
            root.GetProperty("access_token").GetString()!,
            root.TryGetProperty("refresh_token", out var r) ? r.GetString() : null,
            root.TryGetProperty("expires_in", out var e) ? e.GetInt32() : 0,
            root.TryGetProperty("scope", out var s) ? s.GetString() ?? "" : "");
    }
}
