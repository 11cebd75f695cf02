using Broker.Testing;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Hosting;
using Broker.Testing.Processes;
using Broker.V1;
using System.Text.Json;
using Grpc.Core;
using Xunit;

namespace Broker.Grains.Tests.Operations;

/// <summary>
/// <c>broker-ops</c> run as a separate process against a cluster-mode silo (Redis membership, PostgreSQL
/// storage): an operator fixes a family, checks providers and looks at the cluster without touching the database.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class OpsToolTests(Infrastructure infrastructure) : IAsyncLifetime
{
    private TestAuthorizationServer _server = null!;
    private ClusterSpec _spec = null!;
    private BrokerSilo _silo = null!;

    public async Task InitializeAsync()
    {
        _server = await TestAuthorizationServer.StartAsync(new TestAuthorizationServerOptions { AccessTokenLifetime = TimeSpan.FromMinutes(10) });
        _spec = ClusterSpec.New(await infrastructure.NewDatabaseAsync(), infrastructure.Redis.Configuration, ProviderSettings.Merge(
            ProviderSettings.For("test", _server),
            new()
            {
                // A provider whose server is down: nothing listens on this port.
                ["Broker:Providers:down:Issuer"] = $"http://127.0.0.1:{FreePort.Next()}/",
                ["Broker:Providers:down:ClientId"] = "broker",
                ["Broker:Providers:down:ClientSecret"] = "unused-secret",
                ["Broker:Families:MinForcedRefreshInterval"] = "00:00:00",
            }));
        _silo = await _spec.StartSiloAsync();
        await _server.AddRedirectUriAsync("broker", _silo.RedirectUri("test"));
    }

    private Task<ProgramRun.Result> Ops(params string[] arguments) => OpsTool.RunAsync(_spec.ProcessSettings(), arguments);

    [Fact]
    public async Task An_operator_refreshes_marks_and_revokes_a_family()
    {
        await AuthorizationFlow.AuthorizeAsync(_silo, "test", "ops-user", "api.read");
        var before = await _silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "ops-user" });

        var described = await Ops("families", "describe", "test", "ops-user", "--json");
        Assert.Equal(0, described.ExitCode);
        Assert.Equal("active", described.Json[0].GetProperty("status").GetString());

        var refreshes = _server.Stats.RefreshTokenGrants;
        var refreshed = await Ops("families", "refresh", "test", "ops-user", "--json");
        Assert.True(refreshed.ExitCode == 0, refreshed.Errors);
        Assert.Equal(refreshes + 1, _server.Stats.RefreshTokenGrants);
        Assert.Equal(1, refreshed.Json[0].GetProperty("refreshes").GetInt64()); // a number, not a string
        var current = await _silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "ops-user" });
        TokenAssert.Different(before.AccessToken_, current.AccessToken_);
        TokenAssert.NotIn(current.AccessToken_, [refreshed.Output, refreshed.Errors]);

        var marked = await Ops("families", "mark-reauth", "test", "ops-user");
        Assert.Equal(0, marked.ExitCode);
        Assert.Contains("reauthorization_required", marked.Output, StringComparison.Ordinal); // the table
        await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "REAUTHORIZATION_REQUIRED",
            () => _silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "ops-user" }).ResponseAsync);

        var revoked = await Ops("families", "revoke", "test", "ops-user", "--json");
        Assert.Equal(0, revoked.ExitCode);
        Assert.Equal("revoked", revoked.Json[0].GetProperty("status").GetString());
        Assert.False(await _server.IsActiveAsync(current.AccessToken_));

        Assert.Equal(3, (await Ops("families", "describe", "test", "nobody")).ExitCode);
    }

    [Fact]
    public async Task Providers_and_cluster_are_reported_with_failures_in_the_exit_code()
    {
        var providers = await Ops("providers", "check", "--json");
        Assert.Equal(1, providers.ExitCode); // "down" is down
        var rows = providers.Json.EnumerateArray().ToDictionary(r => r.GetProperty("provider").GetString()!);
        Assert.StartsWith("ok", rows["test"].GetProperty("discovery").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("reachable", rows["test"].GetProperty("token_endpoint").GetString(), StringComparison.Ordinal);
        Assert.EndsWith(" s", rows["test"].GetProperty("clock_skew").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("failed", rows["down"].GetProperty("discovery").GetString(), StringComparison.Ordinal);

        await AuthorizationFlow.AuthorizeAsync(_silo, "test", "cluster-user", "api.read");
        var cluster = await Ops("cluster", "show", "--json");
        Assert.Equal(0, cluster.ExitCode);
        var silo = Assert.Single(cluster.Json.EnumerateArray(), s => s.GetProperty("status").GetString() == "Active");
        Assert.True(silo.GetProperty("activations").GetInt32() > 0);

        var unconfigured = await OpsTool.RunAsync(new Dictionary<string, string?>(), "cluster", "show");
        Assert.Equal(2, unconfigured.ExitCode);
        Assert.Contains("Broker:Cluster:Redis", unconfigured.Errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Families_list_gives_a_next_cursor_only_while_more_pages_remain()
    {
        await AuthorizationFlow.AuthorizeAsync(_silo, "test", "page-a", "api.read");
        await AuthorizationFlow.AuthorizeAsync(_silo, "test", "page-b", "api.read");

        var first = await Ops("families", "list", "--limit", "1", "--json");
        Assert.True(first.ExitCode == 0, first.Errors);
        Assert.Equal(1, first.Json.GetProperty("summary").GetProperty("listed").GetInt32());
        var next = first.Json.GetProperty("summary").GetProperty("next").GetString();
        Assert.NotNull(next);

        var last = await Ops("families", "list", "--limit", "1", "--after", next!, "--json");
        Assert.True(last.ExitCode == 0, last.Errors);
        Assert.Equal(1, last.Json.GetProperty("summary").GetProperty("listed").GetInt32());
        Assert.Equal(JsonValueKind.Null, last.Json.GetProperty("summary").GetProperty("next").ValueKind);

        var table = await Ops("families", "list");
        Assert.Contains("page-a", table.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("next", table.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Providers_check_shows_each_providers_circuit_breakers_on_every_silo()
    {
        // The provider that is down: every attempt to read its metadata fails until the silo's breaker opens.
        var opened = false;
        for (var attempt = 0; attempt < 30 && !opened; attempt++)
        {
            try
            {
                await _silo.Client.BeginAuthorizationAsync(new BeginAuthorizationRequest { Provider = "down", Subject = "alice" });
            }
            catch (RpcException)
            {
            }
            using var ready = await _silo.Http.GetAsync("/health/ready");
            opened = (await ready.Content.ReadAsStringAsync()).Contains("down (", StringComparison.Ordinal);
        }
        Assert.True(opened, "the breaker of the provider that is down did not open");

        var providers = await Ops("providers", "check", "--json");
        var rows = providers.Json.EnumerateArray().ToDictionary(r => r.GetProperty("provider").GetString()!);
        Assert.Equal("closed", rows["test"].GetProperty("circuit_breakers").GetString());
        var down = rows["down"].GetProperty("circuit_breakers").GetString()!;
        Assert.Matches(@"^open on 127\.0\.0\.1:\d+ ", down); // which silo
    }

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        await _server.DisposeAsync();
    }
}
