using System.Diagnostics;
using System.Text;
using Broker.Testing;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Hosting;
using Broker.V1;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Microsoft.AspNetCore.WebUtilities;
using OpenTelemetry.Trace;

namespace Broker.Silo.Tests.Security;

/// <summary>
/// A full flow at the most verbose log level, including rotations and failures; then every log line, every exported
/// span (name, status, all tags and events), every metric measurement's tags and the Prometheus page, every gRPC
/// error (Status.Detail, trailers, rich status details) and every callback page are searched for every secret the
/// run produced: codes, states, PKCE verifiers, access, refresh and ID tokens (as the authorization server recorded
/// them), the client secret, the encryption key, the API key, and the subjects.
/// </summary>
public sealed class SecretLeakTests : IAsyncLifetime
{
    private readonly CapturingLoggerProvider _logs = new();
    private readonly ExportedSpans _spans = [];
    private readonly MeterCapture _meters = MeterCapture.All();
    private readonly List<string> _errors = [];
    private readonly List<string> _pages = [];
    private readonly string _encryptionKey = BrokerSiloSettings.NewEncryptionKey();
    private TestAuthorizationServer _server = null!;
    private BrokerSilo _silo = null!;

    public async Task InitializeAsync()
    {
        _server = await TestAuthorizationServer.StartAsync();
        _silo = await BrokerSilo.StartAsync(new BrokerSiloSettings
        {
            EncryptionKey = _encryptionKey,
            LoggerProvider = _logs,
            Customize = host => host.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(_spans)),
            Settings = ProviderSettings.Merge(ProviderSettings.For("test", _server), new()
            {
                ["Logging:LogLevel:Default"] = "Trace",
                ["Logging:LogLevel:Orleans"] = "Trace",
                ["Logging:LogLevel:Microsoft"] = "Trace",
                ["Logging:LogLevel:System"] = "Trace",
                ["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace",
                ["Logging:LogLevel:System.Net.Http.HttpClient"] = "Trace",
                ["Broker:Families:MinForcedRefreshInterval"] = "00:00:00",
                ["Broker:Telemetry:Traces"] = "true", // spans are recorded only for an exporter; this one is added in code
            }),
        });
        await _server.AddRedirectUriAsync("broker", _silo.RedirectUri("test"));
    }

    [Fact]
    public async Task No_token_code_verifier_secret_key_or_subject_reaches_logs_traces_metrics_or_error_details()
    {
        var unique = Guid.NewGuid().ToString("N")[..10];
        var (subject, importSubject, upstreamUser) = ($"leak-user-{unique}", $"leak-import-{unique}", $"leak-upstream-{unique}");
        // The caller's API key rides on every gRPC call below as authorization: Bearer.
        var named = new Dictionary<string, string>
        {
            [subject] = "the subject", [importSubject] = "the imported family's subject", [upstreamUser] = "the user at the server",
            [$"never-{unique}"] = "the unknown family's subject", ["broker-test-secret"] = "the client secret",
            [_encryptionKey] = "the encryption key", [TestCallers.AdminApiKey] = "the API key",
        };
        var secrets = named.Keys.ToList();

        // Code flow with OpenID Connect (an ID token, a nonce): the code and state are in the redirect the browser delivers.
        var redirect = await AuthorizationFlow.ObtainRedirectAsync(_silo, "test", subject, ["openid", "api.read"],
            new Dictionary<string, string?> { ["login_hint"] = upstreamUser });
        var query = QueryHelpers.ParseQuery(redirect.Query);
        secrets.Add(query["code"].ToString());
        secrets.Add(query["state"].ToString());
        using (var delivered = await AuthorizationFlow.DeliverAsync(_silo, redirect))
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, delivered.StatusCode);
            _pages.Add(await delivered.Content.ReadAsStringAsync());
        }
        // ... delivered twice: a rejected replay must not show it either.
        using (var replayed = await AuthorizationFlow.DeliverAsync(_silo, redirect)) _pages.Add(await replayed.Content.ReadAsStringAsync());

        // Served from cache, then two rotations of the refresh token, and a client token.
        await _silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = subject });
        for (var i = 0; i < 2; i++)
            await _silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = subject, ForceRefresh = true });
        await _silo.Client.GetClientTokenAsync(new GetClientTokenRequest { Provider = "test", Scopes = { "api" } });

        // Imported tokens, including a theft and malformed fields: failures whose exceptions are logged and returned.
        var direct = new DirectClient(_server);
        await direct.RegisterAsync();
        var held = await direct.AuthorizeAsync("leak-import", "api.read");
        var import = new ImportTokensRequest
        {
            Provider = "test", Subject = importSubject, AccessToken = held.AccessToken, RefreshToken = held.RefreshToken!,
            AccessTokenExpiresAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(1)),
        };
        await _silo.Client.ImportTokensAsync(import);
        await _silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = importSubject, ForceRefresh = true });
        await Refused(() => _silo.Client.ImportTokensAsync(import).ResponseAsync); // the rotated-away refresh token: reuse
        await Refused(() => _silo.Client.ImportTokensAsync(new ImportTokensRequest(import) { AccessToken = held.AccessToken + "\u0001" }).ResponseAsync);
        await Refused(() => _silo.Client.ImportTokensAsync(new ImportTokensRequest(import) { RefreshToken = held.RefreshToken + " " }).ResponseAsync);
        await Refused(() => _silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = subject + "\u0001" }).ResponseAsync);
        await _silo.Client.RevokeFamilyAsync(new RevokeFamilyRequest { Provider = "test", Subject = subject });
        await Refused(() => _silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = subject }).ResponseAsync);
        await Refused(() => _silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = $"never-{unique}" }).ResponseAsync);

        // Every token and verifier the authorization server issued or saw in this run, the broker's and the direct client's.
        var issued = _server.Stats.Secrets.ToList();
        int Issued(SecretKind kind) => issued.Count(s => s.Kind == kind);
        // Code flows: the broker's and the direct client's; refreshes: two rotations, the import's, the direct client's.
        Assert.True(Issued(SecretKind.CodeVerifier) >= 2 && Issued(SecretKind.IdToken) >= 1 && Issued(SecretKind.RefreshToken) >= 5,
            $"the server recorded {string.Join(", ", issued.GroupBy(s => s.Kind).Select(g => $"{g.Count()} {g.Key}"))}");
        secrets.AddRange(issued.Select(s => s.Value));

        // What the exporters would send: Prometheus' page, and the spans of the last call (exported after its response).
        _meters.RecordObservable();
        var prometheus = await _silo.Http.GetStringAsync("/metrics");
        await Eventually.WaitUntilAsync(() => _spans.Snapshot().Count(s => s.DisplayName.Contains("TokenBroker/GetAccessToken", StringComparison.Ordinal)) >= 7,
            "the gRPC server spans of every GetAccessToken call", TimeSpan.FromSeconds(10));

        var channels = new Dictionary<string, List<string>>
        {
            ["logs"] = [.. _logs.Entries],
            ["spans"] = _spans.Snapshot().SelectMany(SpanTexts).ToList(),
            ["metrics"] = [.. _meters.Measurements.SelectMany(m => m.Tags.Select(t => $"{m.Meter} {m.Instrument} {t.Key}={t.Value}")), prometheus],
            ["grpc errors"] = _errors,
            ["callback pages"] = _pages,
        };
        Assert.Contains(_logs.Entries, e => e.Contains("[Trace]") || e.Contains("[Debug]")); // the level really was verbose
        Assert.Contains(_spans.Snapshot(), s => s.Source.Name == "Broker" && s.DisplayName == "broker.family.refresh");
        Assert.Contains(_meters.Measurements, m => m.Instrument == "broker.tokens.served" && m.Tag("provider") == "test");
        Assert.Contains("broker_tokens_served", prometheus, StringComparison.Ordinal);
        Assert.Equal(6, _errors.Count(e => e.StartsWith("detail:", StringComparison.Ordinal)));

        var leaks = (from secret in secrets.Where(s => s.Length > 0).Distinct()
                     from channel in channels
                     let count = channel.Value.Count(t => t.Contains(secret, StringComparison.Ordinal))
                     where count > 0
                     select $"{Describe(secret, named)} in {count} {channel.Key}").ToList();
        Assert.True(leaks.Count == 0, "leaked: " + string.Join("; ", leaks));
    }

    /// <summary>A secret named without printing it: by its role when it has a name, else by fingerprint and length.</summary>
    private static string Describe(string secret, Dictionary<string, string> named) =>
        named.TryGetValue(secret, out var name) ? name : $"secret {TokenAssert.Fingerprint(secret)} ({secret.Length} chars)";

    /// <summary>Everything an exporter would send of a span.</summary>
    private static IEnumerable<string> SpanTexts(Activity span) =>
    [
        span.DisplayName, span.OperationName, span.StatusDescription ?? "", span.TraceStateString ?? "",
        .. span.TagObjects.Select(t => $"{t.Key}={t.Value}"),
        .. span.Baggage.Select(b => $"{b.Key}={b.Value}"),
        .. span.Events.SelectMany(e => e.Tags.Select(t => $"{t.Key}={t.Value}").Append(e.Name)),
        .. span.Links.SelectMany(l => (l.Tags ?? []).Select(t => $"{t.Key}={t.Value}")),
    ];

    /// <summary>Expects a refusal and keeps all a caller gets of it: the detail, every trailer, the rich status.</summary>
    private async Task Refused(Func<Task> call)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(call);
        _errors.Add($"detail: {ex.Status.Detail}");
        _errors.Add(ex.Message);
        foreach (var trailer in ex.Trailers)
            _errors.Add($"{trailer.Key}={(trailer.IsBinary ? Encoding.UTF8.GetString(trailer.ValueBytes) : trailer.Value)}");
        if (ex.GetRpcStatus() is { } status)
        {
            _errors.Add(status.Message);
            _errors.AddRange(status.Details.Select(d => d.TryUnpack<ErrorInfo>(out var info) ? info.ToString() : d.ToString()));
        }
    }

    public async Task DisposeAsync()
    {
        _meters.Dispose();
        await _silo.DisposeAsync();
        await _server.DisposeAsync();
    }
}
