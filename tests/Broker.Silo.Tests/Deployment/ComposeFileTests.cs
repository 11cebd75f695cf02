using Broker.Testing.Processes;
using Xunit;

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
