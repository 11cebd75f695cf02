using Broker.Testing.Processes;

namespace Broker.Silo.Tests.Hosting;

/// <summary>
/// The silo's process as an operator starts it: a setting or a dependency that is wrong ends it with one clear
/// message per problem and the README's exit code (2 settings, 3 schema, 4 unreachable), never a stack trace.
/// </summary>
public sealed class SiloCommandLineTests
{
    private static readonly string Key = Convert.ToBase64String(new byte[32]);

    private static Task<ProgramRun.Result> Silo(Dictionary<string, string?> settings, params string[] arguments) =>
        ProgramRun.RunAsync("dotnet", [BuiltAssembly.Find(Path.Combine("silo", "Broker.Silo"), "Broker.Silo.dll"), .. arguments],
            new Dictionary<string, string?>(settings)
            {
                ["Broker:Http:GrpcPort"] = FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Broker:Http:HttpPort"] = FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Broker:Cluster:SiloPort"] = FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Broker:Cluster:GatewayPort"] = FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            }, TimeSpan.FromMinutes(1));

    private static string UnreachablePostgreSql() => $"Host=127.0.0.1;Port={FreePort.Next()};Username=broker;Password=not-shown;Database=broker;Timeout=2";

    private static void AssertNoStackTrace(ProgramRun.Result run)
    {
        var all = run.Output + run.Errors;
        Assert.DoesNotContain("   at ", all, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", all, StringComparison.Ordinal);
        Assert.DoesNotContain("Hosting failed to start", all, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migrate_against_an_unreachable_PostgreSql_says_so_in_one_line_and_exits_4()
    {
        var run = await Silo(new() { ["Broker:Cluster:PostgreSql"] = UnreachablePostgreSql() }, "migrate");

        Assert.Equal(4, run.ExitCode);
        Assert.Contains("PostgreSQL", run.Errors, StringComparison.Ordinal);
        Assert.Contains("127.0.0.1", run.Errors, StringComparison.Ordinal);
        Assert.DoesNotContain("not-shown", run.Output + run.Errors, StringComparison.Ordinal);
        AssertNoStackTrace(run);
    }

    [Fact]
    public async Task A_cluster_silo_whose_PostgreSql_is_unreachable_exits_4_not_the_schema_code()
    {
        var run = await Silo(new()
        {
            ["Broker:Mode"] = "Cluster",
            ["Broker:Cluster:Redis"] = $"127.0.0.1:{FreePort.Next()}",
            ["Broker:Cluster:PostgreSql"] = UnreachablePostgreSql(),
            ["Broker:Encryption:Keys:0:Id"] = "k1",
            ["Broker:Encryption:Keys:0:Key"] = Key,
        });

        Assert.Equal(4, run.ExitCode);
        Assert.Contains("PostgreSQL", run.Errors, StringComparison.Ordinal);
        Assert.DoesNotContain("migrate", run.Errors, StringComparison.Ordinal);
        AssertNoStackTrace(run);
    }

    [Fact]
    public async Task Cluster_mode_names_every_missing_setting_at_once()
    {
        var run = await Silo(new() { ["Broker:Mode"] = "Cluster" });

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("Broker:Cluster:Redis", run.Errors, StringComparison.Ordinal);
        Assert.Contains("Broker:Cluster:PostgreSql", run.Errors, StringComparison.Ordinal);
        Assert.Contains("Broker:Encryption:Keys", run.Errors, StringComparison.Ordinal);
        AssertNoStackTrace(run);
    }

    [Fact]
    public async Task A_provider_configuration_error_is_one_line_without_the_hosts_stack_trace()
    {
        var run = await Silo(new() { ["Broker:Providers:demo:Issuer"] = "https://login.example.com/" });

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("Broker:Providers:demo:ClientId", run.Errors, StringComparison.Ordinal);
        AssertNoStackTrace(run);
    }

    [Fact]
    public async Task A_list_setting_given_as_one_string_is_refused_naming_the_indexed_form()
    {
        var run = await Silo(new()
        {
            ["Broker:Providers:demo:Issuer"] = "https://login.example.com/",
            ["Broker:Providers:demo:ClientId"] = "broker",
            ["Broker:Providers:demo:ClientSecret"] = "secret",
            ["Broker:Providers:demo:Scopes"] = "openid offline_access",
        });

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("Broker:Providers:demo:Scopes", run.Errors, StringComparison.Ordinal);
        Assert.Contains("Broker:Providers:demo:Scopes:0", run.Errors, StringComparison.Ordinal);
        Assert.Contains("Broker__Providers__demo__Scopes__0", run.Errors, StringComparison.Ordinal);
        AssertNoStackTrace(run);
    }
}
