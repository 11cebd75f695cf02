using Broker.Testing.Processes;
using Xunit;
using YamlDotNet.RepresentationModel;

namespace Broker.Silo.Tests.Deployment;

/// <summary>
/// compose/docker-compose.yml parses and names the whole topology. `docker compose config` where the plugin is
/// installed, else Debian's docker-compose (tests/run.sh installs it); no engine is needed for either.
/// </summary>
public sealed class ComposeFileTests
{
    [Fact]
    public async Task Compose_file_parses_and_holds_the_whole_topology()
    {
        var file = Path.Combine(BuiltAssembly.RepositoryRoot(), "compose", "docker-compose.yml");
        var run = await ProgramRun.RunAsync("docker", ["compose", "-f", file, "config", "--services"]);
        if (run.ExitCode != 0) run = await ProgramRun.RunAsync("docker-compose", ["-f", file, "config", "--services"]);

        Assert.True(run.ExitCode == 0, run.Errors);
        var services = run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var expected in new[] { "postgres", "redis", "migrate", "silo1", "silo2", "silo3", "otel-collector", "prometheus", "grafana" })
            Assert.Contains(expected, services);
    }

    /// <summary>The file as compose resolves it (variables at their defaults), parsed.</summary>
    private static async Task<YamlMappingNode> ResolvedAsync()
    {
        var file = Path.Combine(BuiltAssembly.RepositoryRoot(), "compose", "docker-compose.yml");
        var run = await ProgramRun.RunAsync("docker", ["compose", "-f", file, "config"]);
        if (run.ExitCode != 0) run = await ProgramRun.RunAsync("docker-compose", ["-f", file, "config"]);
        Assert.True(run.ExitCode == 0, run.Errors);
        var yaml = new YamlStream();
        yaml.Load(new StringReader(run.Output));
        return (YamlMappingNode)yaml.Documents[0].RootNode;
    }

    private static YamlMappingNode Service(YamlMappingNode compose, string name) =>
        (YamlMappingNode)((YamlMappingNode)compose["services"])[name];

    private static Dictionary<string, string> Environment(YamlMappingNode service) =>
        service.Children.TryGetValue("environment", out var env)
            ? ((YamlMappingNode)env).Children.ToDictionary(e => e.Key.ToString(), e => e.Value.ToString())
            : [];

    private static IEnumerable<string> Secrets(YamlMappingNode service) =>
        service.Children.TryGetValue("secrets", out var secrets)
            ? ((YamlSequenceNode)secrets).Children.Select(s => s is YamlMappingNode m ? m["source"].ToString() : s.ToString())
            : [];

    [Fact]
    public async Task Grafana_has_no_default_admin_password_and_no_anonymous_access()
    {
        var grafana = Service(await ResolvedAsync(), "grafana");
        var env = Environment(grafana);

        Assert.False(env.ContainsKey("GF_SECURITY_ADMIN_PASSWORD"), "an admin password written in the compose file");
        Assert.Equal("/run/secrets/grafana-admin-password", env.GetValueOrDefault("GF_SECURITY_ADMIN_PASSWORD__FILE"));
        Assert.Contains("grafana-admin-password", Secrets(grafana));
        Assert.NotEqual("true", env.GetValueOrDefault("GF_AUTH_ANONYMOUS_ENABLED")?.ToLowerInvariant());
    }

    [Fact]
    public async Task Every_published_port_is_on_loopback_by_default()
    {
        var services = (YamlMappingNode)(await ResolvedAsync())["services"];
        var published = 0;
        foreach (var (name, service) in services.Children)
        {
            if (!((YamlMappingNode)service).Children.TryGetValue("ports", out var ports)) continue;
            foreach (var port in ((YamlSequenceNode)ports).Children)
            {
                published++;
                var hostIp = port is YamlMappingNode m ? (m.Children.TryGetValue("host_ip", out var ip) ? ip.ToString() : "") : port.ToString().Split(':')[0];
                Assert.True(hostIp == "127.0.0.1", $"{name} publishes {port} beyond loopback");
            }
        }
        Assert.True(published >= 4, "grafana, prometheus and the silos publish ports"); // the test would pass on a file that publishes nothing
    }

    [Fact]
    public async Task Redis_needs_a_password_and_every_credential_comes_from_secrets()
    {
        var compose = await ResolvedAsync();
        var redis = Service(compose, "redis");
        var postgres = Service(compose, "postgres");

        var redisStart = string.Join(" ", ((YamlSequenceNode)redis["entrypoint"]).Children.Select(c => c.ToString()));
        Assert.Contains("requirepass", redisStart, StringComparison.Ordinal);
        Assert.Contains("/run/secrets/redis-password", redisStart, StringComparison.Ordinal);
        Assert.Contains("redis-password", Secrets(redis));
        Assert.False(Environment(postgres).ContainsKey("POSTGRES_PASSWORD"), "a database password written in the compose file");
        Assert.Equal("/run/secrets/postgres-password", Environment(postgres).GetValueOrDefault("POSTGRES_PASSWORD_FILE"));
        foreach (var silo in new[] { "migrate", "silo1", "silo2", "silo3" })
        {
            var service = Service(compose, silo);
            Assert.DoesNotContain(Environment(service), e => e.Value.Contains("password", StringComparison.OrdinalIgnoreCase));
            Assert.Contains("postgres-password", Secrets(service));
            Assert.Contains("redis-password", Secrets(service));
        }
    }

    [Fact]
    public async Task Secrets_are_ignored_by_git_and_kept_out_of_every_build_context()
    {
        var root = BuiltAssembly.RepositoryRoot();
        foreach (var path in new[] { "compose/secrets/broker-key", "compose/secrets/redis-password" })
        {
            var ignored = await ProgramRun.RunAsync("git", ["-C", root, "check-ignore", "-q", "--no-index", path]);
            Assert.True(ignored.ExitCode == 0, $"{path} is not ignored by git ({ignored.ExitCode}: {ignored.Errors})");
        }
        // The silos' build context is the repository root (compose: context ..).
        var dockerignore = Path.Combine(root, ".dockerignore");
        Assert.True(File.Exists(dockerignore), ".dockerignore is missing at the repository root, the build context");
        var patterns = File.ReadAllLines(dockerignore).Select(l => l.Trim()).ToList();
        foreach (var expected in new[] { "compose/secrets", "**/*.pem", "**/*.key", "**/bin", "**/obj" })
            Assert.Contains(expected, patterns);
    }

    [Fact]
    public async Task Compose_runs_redis_with_an_append_only_file_on_a_volume()
    {
        // Membership lives only in Redis: one that restarts empty splits the cluster (README, Deployment).
        var file = Path.Combine(BuiltAssembly.RepositoryRoot(), "compose", "docker-compose.yml");
        var run = await ProgramRun.RunAsync("docker", ["compose", "-f", file, "config"]);
        if (run.ExitCode != 0) run = await ProgramRun.RunAsync("docker-compose", ["-f", file, "config"]);

        Assert.True(run.ExitCode == 0, run.Errors);
        var redis = System.Text.RegularExpressions.Regex.Match(run.Output, @"(?ms)^  redis:\n(.*?)(?=^  [a-z])").Groups[1].Value;
        Assert.Matches(@"- --appendonly\s*\n\s*- ""?yes""?", redis);
        Assert.Matches(@"- [a-z-]+:/data", redis);
    }
}
