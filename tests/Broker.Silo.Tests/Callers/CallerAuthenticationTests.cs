using Broker.Testing;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Hosting;
using Broker.V1;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Broker.Silo.Tests.Callers;

/// <summary>
/// A broker with three callers besides the tests' admin: "reader" (API key; provider test, subjects team-a/*,
/// scope api.read), and "billing" (workload JWTs whose sub is workload-a, issued by the test authorization
/// server acting as the workload identity issuer). workload-b gets valid JWTs but is no caller.
/// </summary>
public sealed class CallersBroker : EmbeddedBroker
{
    public const string Audience = "urn:broker";
    public static readonly string ReaderKey = Broker.Silo.Callers.ApiKeyHash.NewKey();

    protected override TestAuthorizationServerOptions ServerOptions => new()
    {
        AccessTokenLifetime = TimeSpan.FromMinutes(10),
        ClientCredentialsAudience = Audience,
        Clients =
        [
            new TestAuthorizationServerClient(),
            new TestAuthorizationServerClient { ClientId = "workload-a", ClientSecret = "workload-a-secret" },
            new TestAuthorizationServerClient { ClientId = "workload-b", ClientSecret = "workload-b-secret" },
        ],
    };

    protected override Dictionary<string, string?> ExtraSettings => ProviderSettings.Merge(
        TestCallers.WithApiKey("reader", ReaderKey, new Dictionary<string, string>
        {
            ["Providers:0"] = "test",
            ["Subjects:0"] = "team-a/*",
            ["Scopes:0"] = "api.read",
            ["Scopes:1"] = "offline_access",
        }),
        new()
        {
            ["Broker:Authentication:Jwt:Authority"] = Server.Issuer.AbsoluteUri,
            ["Broker:Authentication:Jwt:Audience"] = Audience,
            ["Broker:Authentication:Jwt:RequireHttpsMetadata"] = "false",
            ["Broker:Callers:billing:WorkloadSubjects:0"] = "workload-a",
            ["Broker:Callers:billing:Providers:0"] = "*",
            ["Broker:Callers:billing:Subjects:0"] = "*",
            ["Broker:Callers:billing:Scopes:0"] = "*",
        });

    public TokenBroker.TokenBrokerClient ClientWith(string bearer) => new(Silo.Channel.WithBearer(bearer));
}

public sealed class CallerAuthenticationTests(CallersBroker broker) : IClassFixture<CallersBroker>
{
    private static GetAccessTokenRequest Token(string subject, bool force = false) =>
        new() { Provider = "test", Subject = subject, ForceRefresh = force };

    [Fact]
    public async Task Calls_without_a_valid_credential_are_unauthenticated_and_touch_no_grain()
    {
        await AuthorizationFlow.AuthorizeAsync(broker.Silo, "test", "guarded", "api.read");
        // This test's own log and counter: other tests of the class (one also sends a bad credential) and other
        // silos of the process (which share the meter's name) are not counted.
        using var log = broker.Logs.Window();
        using var meters = MeterCapture.ForSilo(broker.Silo.Services);
        var refreshesBefore = broker.Server.Stats.RefreshTokenGrants;
        var stranger = await new DirectClient(broker.Server, "workload-b", "workload-b-secret").ClientCredentialsAsync("api");
        Assert.NotNull(stranger);

        TokenBroker.TokenBrokerClient[] callers =
        [
            new(broker.Silo.Channel),                               // nothing
            broker.ClientWith(Broker.Silo.Callers.ApiKeyHash.NewKey()), // a key nobody has
            broker.ClientWith("not.a.jwt"),                        // looks like a JWT, is not
            broker.ClientWith(stranger!.AccessToken),              // a valid JWT of a workload that is no caller
        ];
        foreach (var caller in callers)
        {
            // force_refresh would make the grain call the server: the server's counter shows whether a grain ran.
            await GrpcAssert.FailsWith(StatusCode.Unauthenticated, "UNAUTHENTICATED", () => caller.GetAccessTokenAsync(Token("guarded", force: true)).ResponseAsync);
            await GrpcAssert.FailsWith(StatusCode.Unauthenticated, "UNAUTHENTICATED",
                () => caller.RevokeFamilyAsync(new RevokeFamilyRequest { Provider = "test", Subject = "guarded" }).ResponseAsync);
        }

        Assert.Equal(refreshesBefore, broker.Server.Stats.RefreshTokenGrants);
        var family = await broker.Silo.Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = "guarded" });
        Assert.Equal("active", family.Status);
        Assert.Equal(8, log.Entries.Count(e => e.StartsWith("Broker.Audit [Warning] #6011", StringComparison.Ordinal)));
        Assert.Equal(8, meters.Sum("broker.audit.events", ("event", "denied"), ("outcome", "unauthenticated")));
    }

    [Fact]
    public async Task A_caller_gets_what_its_policy_grants_and_nothing_else()
    {
        await AuthorizationFlow.AuthorizeAsync(broker.Silo, "test", "team-a/alice", "api.read");
        await AuthorizationFlow.AuthorizeAsync(broker.Silo, "test", "team-b/bob", "api.read");
        await AuthorizationFlow.AuthorizeAsync(broker.Silo, "test", "team-a/wide", "api.read", "api.write");
        await AuthorizationFlow.AuthorizeAsync(broker.Silo, "other", "team-a/alice", "api.read");
        var reader = broker.ClientWith(CallersBroker.ReaderKey);
        using var log = broker.Logs.Window();

        var token = await reader.GetAccessTokenAsync(Token("team-a/alice"));
        Assert.True(await broker.Server.IsActiveAsync(token.AccessToken_));

        const StatusCode denied = StatusCode.PermissionDenied;
        const string reason = "PERMISSION_DENIED";
        await GrpcAssert.FailsWith(denied, reason, () => reader.GetAccessTokenAsync(Token("team-b/bob")).ResponseAsync);
        await GrpcAssert.FailsWith(denied, reason, () => reader.GetAccessTokenAsync(Token("team-a/wide")).ResponseAsync);
        await GrpcAssert.FailsWith(denied, reason,
            () => reader.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "other", Subject = "team-a/alice" }).ResponseAsync);
        await GrpcAssert.FailsWith(denied, reason,
            () => reader.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = "team-b/bob" }).ResponseAsync);
        await GrpcAssert.FailsWith(denied, reason,
            () => reader.RevokeFamilyAsync(new RevokeFamilyRequest { Provider = "test", Subject = "team-a/alice" }).ResponseAsync);
        await GrpcAssert.FailsWith(denied, reason,
            () => reader.BeginAuthorizationAsync(new BeginAuthorizationRequest { Provider = "test", Subject = "team-a/new", Scopes = { "api.read" } }).ResponseAsync);
        await GrpcAssert.FailsWith(denied, reason,
            () => reader.ImportTokensAsync(new ImportTokensRequest { Provider = "test", Subject = "team-a/alice", AccessToken = "imported-access-token" }).ResponseAsync);
        await GrpcAssert.FailsWith(denied, reason,
            () => reader.GetClientTokenAsync(new GetClientTokenRequest { Provider = "test", Scopes = { "api.read" } }).ResponseAsync);

        // Denials change nothing: the family the reader tried to revoke or overwrite still serves the same token.
        var after = await broker.Silo.Client.GetAccessTokenAsync(Token("team-a/alice"));
        Assert.Equal("active", (await broker.Silo.Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = "team-a/alice" })).Status);
        Assert.True(await broker.Server.IsActiveAsync(after.AccessToken_));
        TokenAssert.Same(token.AccessToken_, after.AccessToken_);

        // One audit event per call, naming the caller, never the token.
        var audit = log.Entries.Where(e => e.StartsWith("Broker.Audit", StringComparison.Ordinal)).ToList();
        Assert.Contains(audit, e => e.Contains("#6000", StringComparison.Ordinal) && e.Contains("Caller=reader", StringComparison.Ordinal));
        Assert.Equal(8, audit.Count(e => e.Contains("#6010", StringComparison.Ordinal) && e.Contains("Caller=reader", StringComparison.Ordinal)));
        TokenAssert.NotIn(token.AccessToken_, broker.Logs.Entries);
    }

    [Fact]
    public async Task A_workload_jwt_from_the_trusted_issuer_is_its_caller()
    {
        await AuthorizationFlow.AuthorizeAsync(broker.Silo, "test", "payroll/carol", "api.read");
        var issued = await new DirectClient(broker.Server, "workload-a", "workload-a-secret").ClientCredentialsAsync("api");
        var jwt = issued!.AccessToken;
        using var log = broker.Logs.Window();

        var token = await broker.ClientWith(jwt).GetAccessTokenAsync(Token("payroll/carol"));
        Assert.True(await broker.Server.IsActiveAsync(token.AccessToken_));

        // One changed character of the signature: the issuer's keys no longer verify it.
        var tampered = jwt[..^2] + (jwt[^2] == 'A' ? 'B' : 'A') + jwt[^1];
        await GrpcAssert.FailsWith(StatusCode.Unauthenticated, "UNAUTHENTICATED",
            () => broker.ClientWith(tampered).GetAccessTokenAsync(Token("payroll/carol")).ResponseAsync);
        Assert.Contains(log.Entries, e => e.Contains("#6000", StringComparison.Ordinal) && e.Contains("Caller=billing", StringComparison.Ordinal));
        Assert.Single(log.Entries, e => e.StartsWith("Broker.Audit [Warning] #6011", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Every_kind_of_call_leaves_its_audit_event_and_counter()
    {
        var family = broker.Silo.Services.GetRequiredService<Broker.Abstractions.Identity.FamilyLogId>().Of(new Broker.Abstractions.Identity.FamilyKey(
            Broker.Abstractions.Identity.ProviderName.Parse("test"), Broker.Abstractions.Identity.Subject.Parse("audited")));
        using var log = broker.Logs.Window();
        using var meters = MeterCapture.ForSilo(broker.Silo.Services);
        var admin = broker.Silo.Client;

        await AuthorizationFlow.AuthorizeAsync(broker.Silo, "test", "audited", "api.read");                      // 6002, 6003
        var refreshed = await admin.GetAccessTokenAsync(Token("audited", force: true));                          // 6000 + 6001
        await admin.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = "audited" });    // 6006
        await admin.ImportTokensAsync(new ImportTokensRequest { Provider = "test", Subject = "audited", AccessToken = "audit-imported-access-token" }); // 6004
        await admin.RevokeFamilyAsync(new RevokeFamilyRequest { Provider = "test", Subject = "audited" });       // 6005
        await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "REAUTHORIZATION_REQUIRED",
            () => admin.GetAccessTokenAsync(Token("audited")).ResponseAsync);                                    // 6012

        foreach (var id in new[] { 6000, 6001, 6002, 6003, 6004, 6005, 6006, 6012 })
        {
            Assert.True(log.Entries.Any(e => e.StartsWith($"Broker.Audit [", StringComparison.Ordinal)
                && e.Contains($"#{id} ", StringComparison.Ordinal) && e.Contains($"Family={family}", StringComparison.Ordinal)), $"no audit event {id} for the family");
        }
        Assert.Contains(log.Entries, e => e.Contains("#6000 ", StringComparison.Ordinal) && e.Contains("Caller=tests", StringComparison.Ordinal) && e.Contains("Source=refresh", StringComparison.Ordinal));
        Assert.Contains(log.Entries, e => e.Contains("#6012 ", StringComparison.Ordinal) && e.Contains("Reason=REAUTHORIZATION_REQUIRED", StringComparison.Ordinal));
        TokenAssert.NotIn(refreshed.AccessToken_, broker.Logs.Entries);
        TokenAssert.NotIn("audit-imported-access-token", broker.Logs.Entries);
        Assert.DoesNotContain(broker.Logs.Entries, e => e.StartsWith("Broker.Audit", StringComparison.Ordinal) && e.Contains("audited", StringComparison.Ordinal));

        // The counter moves once per audit event of this test, each under its own event name.
        var audited = log.Entries.Count(e => e.StartsWith("Broker.Audit [", StringComparison.Ordinal));
        Assert.Equal(audited, meters.Sum("broker.audit.events"));
        foreach (var name in new[] { "token_handed_out", "family_refreshed", "authorization_begun", "authorization_completed",
                     "tokens_imported", "family_revoked", "family_described", "failed" })
        {
            Assert.True(meters.Sum("broker.audit.events", ("event", name)) >= 1, $"broker.audit.events never counted {name}");
        }
    }
}
