using Broker.Testing;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Hosting;
using Broker.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.WebUtilities;

namespace Broker.Silo.Tests.Security;

/// <summary>
/// A full flow at the most verbose log level, including failures; then every log line, structured value and
/// exception text is searched for every secret the test knows.
/// </summary>
public sealed class SecretLeakTests : IAsyncLifetime
{
    private readonly CapturingLoggerProvider _logs = new();
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
            Settings = ProviderSettings.Merge(ProviderSettings.For("test", _server), new()
            {
                ["Logging:LogLevel:Default"] = "Trace",
                ["Logging:LogLevel:Orleans"] = "Trace",
                ["Logging:LogLevel:Microsoft"] = "Trace",
                ["Logging:LogLevel:System"] = "Trace",
                ["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace",
                ["Logging:LogLevel:System.Net.Http.HttpClient"] = "Trace",
                ["Broker:Families:MinForcedRefreshInterval"] = "00:00:00",
            }),
        });
        await _server.AddRedirectUriAsync("broker", _silo.RedirectUri("test"));
    }

    [Fact]
    public async Task No_token_code_state_secret_or_key_reaches_the_logs()
    {
        // The caller's API key rides on every gRPC call below as authorization: Bearer.
        var secrets = new List<string> { "broker-test-secret", _encryptionKey, TestCallers.AdminApiKey };

        // Code flow: the code and state are in the redirect the browser delivers.
        var redirect = await AuthorizationFlow.ObtainRedirectAsync(_silo, "test", "leak-user", ["api.read"]);
        var query = QueryHelpers.ParseQuery(redirect.Query);
        secrets.Add(query["code"].ToString());
        secrets.Add(query["state"].ToString());
        Assert.Equal(System.Net.HttpStatusCode.OK, (await AuthorizationFlow.DeliverAsync(_silo, redirect)).StatusCode);
        // ... delivered twice: a rejected replay must not log it either.
        await AuthorizationFlow.DeliverAsync(_silo, redirect);

        var request = new GetAccessTokenRequest { Provider = "test", Subject = "leak-user" };
        secrets.Add((await _silo.Client.GetAccessTokenAsync(request)).AccessToken_);
        secrets.Add((await _silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "leak-user", ForceRefresh = true })).AccessToken_);
        secrets.Add((await _silo.Client.GetClientTokenAsync(new GetClientTokenRequest { Provider = "test", Scopes = { "api" } })).AccessToken_);

        // Imported tokens, including a theft: known refresh tokens, and failures whose exceptions are logged.
        var direct = new DirectClient(_server);
        await direct.RegisterAsync();
        var held = await direct.AuthorizeAsync("leak-import", "api.read");
        secrets.Add(held.AccessToken);
        secrets.Add(held.RefreshToken!);
        var import = new ImportTokensRequest
        {
            Provider = "test", Subject = "leak-import", AccessToken = held.AccessToken, RefreshToken = held.RefreshToken!,
            AccessTokenExpiresAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(1)),
        };
        await _silo.Client.ImportTokensAsync(import);
        secrets.Add((await _silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "leak-import", ForceRefresh = true })).AccessToken_);
        await Assert.ThrowsAsync<RpcException>(() => _silo.Client.ImportTokensAsync(import).ResponseAsync);
        await _silo.Client.RevokeFamilyAsync(new RevokeFamilyRequest { Provider = "test", Subject = "leak-user" });

        Assert.NotEmpty(_logs.Entries);
        Assert.Contains(_logs.Entries, e => e.Contains("[Trace]") || e.Contains("[Debug]")); // the level really was verbose
        foreach (var secret in secrets.Where(s => s.Length > 0))
        {
            var leaks = _logs.Entries.Count(e => e.Contains(secret, StringComparison.Ordinal));
            Assert.True(leaks == 0, $"secret {TokenAssert.Fingerprint(secret)} ({secret.Length} chars) appears in {leaks} log entries");
        }
    }

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        await _server.DisposeAsync();
    }
}
