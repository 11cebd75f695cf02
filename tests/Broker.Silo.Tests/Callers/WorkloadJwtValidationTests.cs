using System.Security.Claims;
using System.Security.Cryptography;
using Broker.Testing;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Hosting;
using Broker.V1;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Silo.Tests.Callers;

/// <summary>
/// A stand-in workload identity issuer (OpenID discovery and a JWKS on loopback) whose signing key the tests
/// hold, so a JWT can differ from a valid one in exactly one claim; and a broker trusting it for caller
/// "billing" (sub workload-a, audience urn:broker).
/// </summary>
public sealed class WorkloadIssuerBroker : IAsyncLifetime
{
    public const string Audience = "urn:broker";
    public const string Workload = "workload-a";

    private readonly RSA _rsa = RSA.Create(2048);
    private WebApplication _issuerApp = null!;

    public string Issuer { get; private set; } = null!;
    public TestAuthorizationServer Server { get; private set; } = null!;
    public BrokerSilo Silo { get; private set; } = null!;
    public CapturingLoggerProvider Logs { get; } = new();

    private RsaSecurityKey SigningKey => new(_rsa) { KeyId = "workload-key" };

    public async Task InitializeAsync()
    {
        (_issuerApp, var address) = await LoopbackWebApp.StartAsync(app =>
        {
            app.MapGet("/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
            {
                ["issuer"] = Issuer,
                ["jwks_uri"] = $"{Issuer}jwks",
                ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
            }));
            app.MapGet("/jwks", () =>
            {
                var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(_rsa.ExportParameters(false)) { KeyId = "workload-key" });
                return Results.Json(new { keys = new[] { new { kty = jwk.Kty, kid = jwk.Kid, use = "sig", alg = "RS256", n = jwk.N, e = jwk.E } } });
            });
        });
        Issuer = address.AbsoluteUri;
        Server = await TestAuthorizationServer.StartAsync();
        Silo = await BrokerSilo.StartAsync(new BrokerSiloSettings
        {
            Settings = ProviderSettings.Merge(ProviderSettings.For("test", Server), new()
            {
                ["Broker:Authentication:Jwt:Authority"] = Issuer,
                ["Broker:Authentication:Jwt:Audience"] = Audience,
                ["Broker:Authentication:Jwt:RequireHttpsMetadata"] = "false",
                ["Broker:Callers:billing:WorkloadSubjects:0"] = Workload,
                ["Broker:Callers:billing:Providers:0"] = "*",
                ["Broker:Callers:billing:Subjects:0"] = "*",
                ["Broker:Callers:billing:Scopes:0"] = "*",
                // The JWT handler says which check failed; the tests read it to know the refusal had the right cause.
                ["Logging:LogLevel:Microsoft.AspNetCore.Authentication"] = "Information",
            }),
            LoggerProvider = Logs,
        });
    }

    /// <summary>A JWT signed with the trusted key; each argument left alone makes it valid.</summary>
    public string Mint(string? issuer = null, string audience = Audience, DateTime? notBefore = null, DateTime? expires = null)
    {
        var now = DateTime.UtcNow;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer ?? Issuer,
            Audience = audience,
            Subject = new ClaimsIdentity([new Claim("sub", Workload)]),
            NotBefore = notBefore ?? now.AddMinutes(-1),
            IssuedAt = notBefore ?? now.AddMinutes(-1),
            Expires = expires ?? now.AddMinutes(10),
            SigningCredentials = new SigningCredentials(SigningKey, SecurityAlgorithms.RsaSha256),
        });
    }

    public TokenBroker.TokenBrokerClient ClientWith(string bearer) => new(Silo.Channel.WithBearer(bearer));

    public async Task DisposeAsync()
    {
        await Silo.DisposeAsync();
        await Server.DisposeAsync();
        await _issuerApp.DisposeAsync();
        _rsa.Dispose();
    }
}

/// <summary>
/// README (Callers): a workload JWT is validated for signature, issuer, audience and lifetime. Each refused JWT
/// differs from an accepted one in one claim only, is answered UNAUTHENTICATED, and leaves audit event 6011.
/// </summary>
public sealed class WorkloadJwtValidationTests(WorkloadIssuerBroker broker) : IClassFixture<WorkloadIssuerBroker>
{
    private static readonly DescribeFamilyRequest Describe = new() { Provider = "test", Subject = "jwt-probe" };

    private int Count(string marker) => broker.Logs.Entries.Count(e => e.Contains(marker, StringComparison.Ordinal));

    private const string Unauthenticated = "Broker.Audit [Warning] #6011";

    /// <summary>Refused, audited once as unauthenticated, and refused for the expected check.</summary>
    private async Task AssertRefused(string jwt, string failedCheck)
    {
        var audited = Count(Unauthenticated);
        var failures = Count(failedCheck);

        await GrpcAssert.FailsWith(StatusCode.Unauthenticated, "UNAUTHENTICATED",
            () => broker.ClientWith(jwt).DescribeFamilyAsync(Describe).ResponseAsync);

        Assert.Equal(audited + 1, Count(Unauthenticated));
        Assert.Contains(broker.Logs.Entries, e => e.StartsWith(Unauthenticated, StringComparison.Ordinal) && e.Contains("credential rejected", StringComparison.Ordinal));
        Assert.True(Count(failedCheck) > failures, $"the JWT handler did not report {failedCheck}");
        TokenAssert.NotIn(jwt, broker.Logs.Entries);
    }

    [Fact]
    public async Task A_jwt_of_the_trusted_issuer_for_the_broker_audience_within_its_lifetime_is_the_workload_caller()
    {
        var audited = Count(Unauthenticated);

        var family = await broker.ClientWith(broker.Mint()).DescribeFamilyAsync(Describe);

        Assert.Equal("none", family.Status);
        Assert.Equal(audited, Count(Unauthenticated));
        Assert.Contains(broker.Logs.Entries, e => e.StartsWith("Broker.Audit", StringComparison.Ordinal) && e.Contains("Caller=billing", StringComparison.Ordinal));
    }

    /// <summary>
    /// A JWT caller is found by the framework's handler, which may complete later than the call's start: the call's
    /// failures are typed and audited under its name all the same, whether the service refuses the request itself or the
    /// family's grain refuses it.
    /// </summary>
    [Fact]
    public async Task A_workload_callers_failed_calls_are_typed_and_audited_under_its_name()
    {
        var client = broker.ClientWith(broker.Mint());
        var failed = Count("#6012 ");

        await GrpcAssert.FailsWith(StatusCode.InvalidArgument, "INVALID_ARGUMENT",
            () => client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "" }).ResponseAsync);
        await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "AUTHORIZATION_REQUIRED",
            () => client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "jwt-never-authorized" }).ResponseAsync);

        Assert.Equal(failed + 2, Count("#6012 "));
        foreach (var reason in new[] { "INVALID_ARGUMENT", "AUTHORIZATION_REQUIRED" })
        {
            Assert.Contains(broker.Logs.Entries, e => e.StartsWith("Broker.Audit", StringComparison.Ordinal) && e.Contains("#6012 ", StringComparison.Ordinal)
                && e.Contains("Caller=billing", StringComparison.Ordinal) && e.Contains($"Reason={reason}", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task A_jwt_naming_another_issuer_is_unauthenticated_even_when_signed_with_the_trusted_key()
    {
        await AssertRefused(broker.Mint(issuer: "https://other-issuer.example/"), nameof(SecurityTokenInvalidIssuerException));
    }

    [Fact]
    public async Task A_jwt_for_another_audience_is_unauthenticated()
    {
        await AssertRefused(broker.Mint(audience: "urn:another-service"), nameof(SecurityTokenInvalidAudienceException));
    }

    [Fact]
    public async Task A_jwt_expired_beyond_the_clock_skew_is_unauthenticated()
    {
        var now = DateTime.UtcNow;
        await AssertRefused(broker.Mint(notBefore: now.AddMinutes(-20), expires: now.AddMinutes(-5)), nameof(SecurityTokenExpiredException));
    }

    [Fact]
    public async Task A_jwt_not_yet_valid_beyond_the_clock_skew_is_unauthenticated()
    {
        var now = DateTime.UtcNow;
        await AssertRefused(broker.Mint(notBefore: now.AddMinutes(5), expires: now.AddMinutes(20)), nameof(SecurityTokenNotYetValidException));
    }
}
