using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Broker.Testing.Processes;

namespace Broker.Testing.DpopServer;

/// <summary>
/// A real DPoP-capable authorization server for tests: node oidc-provider (npm, pinned in package-lock.json) run by
/// server.js beside this file on a free loopback port. OpenIddict has no DPoP, so this server's own RFC 9449
/// validation (proof signature, htm/htu, jti replay, nonces, cnf.jkt binding) is what the broker is tested against.
/// Clients: "broker" (client_secret_basic, secret <see cref="ClientSecret"/>) and, when a JWKS is given,
/// "broker-jwt" (private_key_jwt). The user named by login_hint (default alice) logs in and consents at once.
/// </summary>
public sealed class DpopAuthorizationServer : IAsyncDisposable
{
    public const string ClientId = "broker";
    public const string ClientSecret = "broker-test-secret";
    public const string JwtClientId = "broker-jwt";

    private readonly Process _process;
    private readonly HttpClient _http;

    private DpopAuthorizationServer(Process process, Uri issuer)
    {
        _process = process;
        Issuer = issuer;
        _http = new HttpClient { BaseAddress = new Uri(issuer.AbsoluteUri.TrimEnd('/') + "/") };
    }

    /// <summary>The issuer identifier, e.g. <c>http://127.0.0.1:PORT</c> (no trailing slash, as oidc-provider names it).</summary>
    public Uri Issuer { get; }

    /// <summary>The issuer exactly as the server writes it in its metadata.</summary>
    public string IssuerString => Issuer.AbsoluteUri.TrimEnd('/');

    public Uri TokenEndpoint => new(_http.BaseAddress!, "token");

    public Uri UserinfoEndpoint => new(_http.BaseAddress!, "me");

    public static string Folder => Path.Combine(BuiltAssembly.RepositoryRoot(), "tests", "Broker.Testing", "DpopServer");

    /// <param name="requireNonce">Every proof must carry a server nonce: a request without one is refused with use_dpop_nonce.</param>
    /// <param name="accessTokenLifetime">The lifetime of access tokens the server issues.</param>
    /// <param name="jwtClientKeys">The public JWKS (JSON) of the private_key_jwt client "broker-jwt", when one is wanted.</param>
    /// <param name="proofAlgorithms">The proof algorithms the server accepts and lists in its metadata (default ES256).</param>
    /// <param name="dpop">False: the server has no DPoP at all (bearer tokens, nothing in its metadata).</param>
    public static async Task<DpopAuthorizationServer> StartAsync(bool requireNonce = true, TimeSpan? accessTokenLifetime = null, string? jwtClientKeys = null,
        IReadOnlyList<string>? proofAlgorithms = null, bool dpop = true)
    {
        if (!Directory.Exists(Path.Combine(Folder, "node_modules", "oidc-provider")))
            throw new InvalidOperationException($"oidc-provider is not installed: run `npm ci` in {Folder} (tests/run.sh does).");
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort.Next();
            var info = new ProcessStartInfo("node")
            {
                ArgumentList = { "server.js" },
                WorkingDirectory = Folder,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            info.Environment["DPOP_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            info.Environment["DPOP_REQUIRE_NONCE"] = requireNonce ? "1" : "0";
            info.Environment["DPOP_ACCESS_TOKEN_TTL"] = ((int)(accessTokenLifetime ?? TimeSpan.FromMinutes(5)).TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (jwtClientKeys is not null) info.Environment["DPOP_CLIENT_JWKS"] = jwtClientKeys;
            if (proofAlgorithms is not null) info.Environment["DPOP_ALGS"] = string.Join(',', proofAlgorithms);
            info.Environment["DPOP_ENABLED"] = dpop ? "1" : "0";

            var process = Process.Start(info) ?? throw new InvalidOperationException("node could not be started.");
            var output = new StringBuilder();
            var ready = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null) return;
                lock (output) output.AppendLine(e.Data);
                if (e.Data.StartsWith("issuer ", StringComparison.Ordinal)) ready.TrySetResult(new Uri(e.Data["issuer ".Length..]));
            };
            process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
            process.EnableRaisingEvents = true;
            process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException("the DPoP server exited."));
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            try
            {
                var issuer = await ready.Task.WaitAsync(TimeSpan.FromSeconds(30));
                return new DpopAuthorizationServer(process, issuer);
            }
            catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
            {
                if (!process.HasExited) process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
                string said;
                lock (output) said = output.ToString();
                process.Dispose();
                if (attempt < FreePort.Attempts && FreePort.LostRace(said)) continue;
                throw new InvalidOperationException($"the DPoP server did not start on port {port}: {said}");
            }
        }
    }

    /// <summary>What the token endpoint answered so far: requests, tokens issued, errors by code, each proof's jti.</summary>
    public async Task<DpopServerStats> StatsAsync()
    {
        using var document = JsonDocument.Parse(await _http.GetStringAsync("test/stats"));
        var root = document.RootElement;
        return new DpopServerStats(
            root.GetProperty("tokenRequests").GetInt32(),
            root.GetProperty("issued").GetInt32(),
            root.GetProperty("useDpopNonce").GetInt32(),
            root.GetProperty("errors").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32()),
            root.GetProperty("issuedByGrant").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32()),
            [.. root.GetProperty("jtis").EnumerateArray().Select(j => j.GetString()!)],
            [.. root.GetProperty("proofAlgs").EnumerateArray().Select(j => j.GetString()!)],
            root.GetProperty("revoked").GetInt32());
    }

    /// <summary>RFC 7662 introspection as the "broker" client: the token's active flag, and its cnf.jkt when DPoP-bound.</summary>
    public async Task<JsonElement> IntrospectAsync(string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "token/introspection")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.ASCII.GetBytes($"{ClientId}:{ClientSecret}")));
        using var response = await _http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    /// <summary>
    /// The user's browser at an authorization URL: logs in as <paramref name="login"/> (login_hint) and follows the
    /// server's redirects (with its cookies) until one leaves the server; returns that redirect (to the broker's callback).
    /// </summary>
    public async Task<Uri> LogInAsync(Uri authorizationUrl, string login = "alice")
    {
        using var browser = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = new System.Net.CookieContainer() });
        var url = new Uri(Microsoft.AspNetCore.WebUtilities.QueryHelpers.AddQueryString(authorizationUrl.AbsoluteUri, "login_hint", login));
        for (var hop = 0; hop < 10; hop++)
        {
            using var response = await browser.GetAsync(url);
            if ((int)response.StatusCode is < 300 or >= 400 || response.Headers.Location is not { } location)
                throw new InvalidOperationException($"the DPoP server answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            url = location.IsAbsoluteUri ? location : new Uri(url, location);
            if (url.GetLeftPart(UriPartial.Authority) != Issuer.GetLeftPart(UriPartial.Authority)) return url;
        }
        throw new InvalidOperationException("the DPoP server redirected more than 10 times.");
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}

/// <summary>The DPoP server's token-endpoint counters, each token request's proof (jti and alg), and revocations answered 200.</summary>
public sealed record DpopServerStats(int TokenRequests, int Issued, int UseDpopNonce, IReadOnlyDictionary<string, int> Errors,
    IReadOnlyDictionary<string, int> IssuedByGrant, IReadOnlyList<string> ProofIds, IReadOnlyList<string> ProofAlgorithms, int Revoked)
{
    /// <summary>Tokens issued for one grant type (authorization_code, refresh_token, client_credentials).</summary>
    public int IssuedFor(string grantType) => IssuedByGrant.GetValueOrDefault(grantType);
}
