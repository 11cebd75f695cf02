using System.Security.Cryptography;
using Broker.Abstractions.Identity;
using Broker.OAuth.Discovery;
using Broker.OAuth.Providers;
using Broker.OAuth.Tokens;
using Broker.Testing.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.OAuth.Tests.Tokens;

/// <summary>
/// A failing token endpoint, hand-written to inject faults (a real server does not fail on demand): it answers
/// every request with the status a test sets, and counts what reached it.
/// </summary>
public sealed class ServerErrorTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("broker-5xx-").FullName;
    private WebApplication _app = null!;
    private Uri _address = null!;
    private int _status = 500;
    private bool _retryAfter;
    private int _requests;

    public async Task InitializeAsync()
    {
        File.WriteAllText(Path.Combine(_folder, "key.pem"), ECDsa.Create(ECCurve.NamedCurves.nistP256).ExportPkcs8PrivateKeyPem());
        (_app, _address) = await LoopbackWebApp.StartAsync(app => app.MapPost("/token", (HttpContext context) =>
        {
            Interlocked.Increment(ref _requests);
            if (_retryAfter) context.Response.Headers.RetryAfter = "2";
            return Results.StatusCode(_status);
        }));
    }

    [Theory]
    [InlineData(500)]
    [InlineData(502)]
    [InlineData(504)]
    public async Task A_refresh_answered_with_a_server_error_is_an_unknown_outcome_and_is_sent_once(int status)
    {
        _status = status;
        var (tokens, provider, metadata) = await ClientAsync("ClientSecretBasic");

        var outcome = await tokens.RefreshAsync(provider, metadata, "refresh-token", ScopeSet.Empty);

        // The server may have rotated the token before failing: the refresh token may be spent.
        Assert.IsType<TokenEndpointOutcome.OutcomeUnknown>(outcome);
        Assert.Equal(1, _requests);
    }

    [Theory]
    [InlineData(400)]
    [InlineData(401)]
    [InlineData(403)]
    public async Task A_bare_client_error_without_an_oauth_body_is_a_refusal_not_a_lost_answer(int status)
    {
        _status = status;
        var (tokens, provider, metadata) = await ClientAsync("ClientSecretBasic");
        var outcome = await tokens.RefreshAsync(provider, metadata, "refresh-token", ScopeSet.Empty);
        Assert.Equal(status, Assert.IsType<TokenEndpointOutcome.Refused>(outcome).HttpStatus);
    }

    [Theory]
    [InlineData(429)]
    [InlineData(503)]
    public async Task Throttle_signals_never_open_the_providers_circuit_breaker(int status)
    {
        (_status, _retryAfter) = (status, true);
        var (tokens, provider, metadata) = await ClientAsync("ClientSecretBasic");

        var outcomes = new List<TokenEndpointOutcome>();
        for (var i = 0; i < 12; i++) outcomes.Add(await tokens.RefreshAsync(provider, metadata, "refresh-token", ScopeSet.Empty));

        // The breaker opens after 5 calls at a failure ratio of 0.5: had these counted, the last ones would be NotSent.
        Assert.All(outcomes, o => Assert.IsType<TokenEndpointOutcome.Throttled>(o));
        Assert.Equal(12, _requests);
    }

    [Fact]
    public async Task Server_errors_do_open_the_providers_circuit_breaker()
    {
        _status = 500;
        var (tokens, provider, metadata) = await ClientAsync("ClientSecretBasic");

        var outcomes = new List<TokenEndpointOutcome>();
        for (var i = 0; i < 12; i++) outcomes.Add(await tokens.RefreshAsync(provider, metadata, "refresh-token", ScopeSet.Empty));

        Assert.Contains(outcomes, o => o is TokenEndpointOutcome.NotSent);
        Assert.True(_requests < 12, $"{_requests} requests reached the server: the breaker never opened");
    }

    [Fact]
    public async Task The_breaker_thresholds_are_the_providers_settings_and_an_open_breaker_is_reported()
    {
        _status = 500;
        var (tokens, provider, metadata, services) = await ServicesAsync("ClientSecretBasic", new()
        {
            ["Broker:Providers:failing:CircuitBreaker:MinimumThroughput"] = "2",
            ["Broker:Providers:failing:CircuitBreaker:FailureRatio"] = "1",
        });
        var breakers = services.GetRequiredService<Broker.OAuth.Http.ProviderCircuitBreakers>();
        Assert.Empty(breakers.NotClosed());

        var outcomes = new List<TokenEndpointOutcome>();
        for (var i = 0; i < 4; i++) outcomes.Add(await tokens.RefreshAsync(provider, metadata, "refresh-token", ScopeSet.Empty));

        Assert.Equal(2, _requests); // open after two failures, not the default five
        Assert.IsType<TokenEndpointOutcome.NotSent>(outcomes[^1]);
        Assert.Equal(["failing (single-attempt): circuit open"], breakers.NotClosed());
        var readiness = await new Broker.Silo.Health.ProvidersHealthCheck(new Broker.Silo.Health.ProviderProbe(
                services.GetRequiredService<ProviderRegistry>(), services.GetRequiredService<MetadataStore>()),
                new Broker.Grains.Telemetry.BrokerMetrics(services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()), breakers)
            .CheckHealthAsync(new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext());
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Degraded, readiness.Status);
        Assert.Contains("provider failing (single-attempt): circuit open", readiness.Description);
    }

    [Fact]
    public async Task A_503_without_retry_after_holds_the_client_back_for_the_default_five_seconds()
    {
        _status = 503;
        var (tokens, provider, metadata) = await ClientAsync("ClientSecretBasic");
        var outcome = await tokens.RefreshAsync(provider, metadata, "refresh-token", ScopeSet.Empty);
        Assert.Equal(TimeSpan.FromSeconds(5), Assert.IsType<TokenEndpointOutcome.Throttled>(outcome).RetryAfter);
        Assert.Equal(1, _requests);
    }

    [Fact]
    public async Task A_client_credentials_request_with_a_secret_is_retried_after_a_502()
    {
        _status = 502;
        var (tokens, provider, metadata) = await ClientAsync("ClientSecretPost");

        var outcome = await tokens.ClientCredentialsAsync(provider, metadata, ScopeSet.Empty, "");

        Assert.IsType<TokenEndpointOutcome.OutcomeUnknown>(outcome);
        Assert.True(_requests > 1, $"sent {_requests} time(s): a request that spends nothing should have been retried");
    }

    [Fact]
    public async Task Requests_carrying_an_assertion_are_never_retried()
    {
        _status = 502;
        var (tokens, provider, metadata) = await ClientAsync("PrivateKeyJwt");

        var outcome = await tokens.ClientCredentialsAsync(provider, metadata, ScopeSet.Empty, "");
        var revoked = await tokens.RevokeAsync(provider, metadata, "token", "access_token");

        Assert.IsType<TokenEndpointOutcome.OutcomeUnknown>(outcome);
        Assert.False(revoked);
        Assert.Equal(2, _requests); // one token request, one revocation: a resent assertion would repeat its jti
    }

    private async Task<(TokenEndpointClient, Provider, AuthorizationServerMetadata)> ClientAsync(string authentication,
        Dictionary<string, string?>? extra = null)
    {
        var (tokens, provider, metadata, _) = await ServicesAsync(authentication, extra);
        return (tokens, provider, metadata);
    }

    private async Task<(TokenEndpointClient, Provider, AuthorizationServerMetadata, IServiceProvider)> ServicesAsync(string authentication,
        Dictionary<string, string?>? extra = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Broker:Http:PublicBaseUrl"] = "http://127.0.0.1:9/",
            ["Broker:Providers:failing:Issuer"] = _address.AbsoluteUri,
            ["Broker:Providers:failing:UseDiscovery"] = "false",
            ["Broker:Providers:failing:RequireHttps"] = "false",
            ["Broker:Providers:failing:AuthorizationEndpoint"] = new Uri(_address, "authorize").AbsoluteUri,
            ["Broker:Providers:failing:TokenEndpoint"] = new Uri(_address, "token").AbsoluteUri,
            ["Broker:Providers:failing:RevocationEndpoint"] = new Uri(_address, "token").AbsoluteUri,
            ["Broker:Providers:failing:ClientId"] = "broker",
            ["Broker:Providers:failing:ClientAuthentication"] = authentication,
            ["Broker:Providers:failing:ClientSecret"] = authentication == "PrivateKeyJwt" ? null : "secret",
            ["Broker:Providers:failing:ClientKeyFile"] = authentication == "PrivateKeyJwt" ? Path.Combine(_folder, "key.pem") : null,
        }.Concat(extra ?? []).ToDictionary()).Build();
        var services = new ServiceCollection().AddLogging().AddMetrics().AddBrokerOAuth(configuration).BuildServiceProvider();
        var provider = services.GetRequiredService<ProviderRegistry>().Get(ProviderName.Parse("failing"));
        var metadata = await services.GetRequiredService<MetadataStore>().GetAsync(provider);
        return (services.GetRequiredService<TokenEndpointClient>(), provider, metadata, services);
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }
}
