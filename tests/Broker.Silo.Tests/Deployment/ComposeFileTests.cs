using System.Diagnostics;
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
        var file = Path.Combine(Broker.Testing.Processes.BuiltAssembly.RepositoryRoot(), "compose", "docker-compose.yml");
        var (exitCode, output, errors) = await RunAsync("docker", "compose", "-f", file, "config", "--services");
        if (exitCode != 0) (exitCode, output, errors) = await RunAsync("docker-compose", "-f", file, "config", "--services");

        Assert.True(exitCode == 0, errors);
        var services = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var expected in new[] { "postgres", "redis", "migrate", "silo1", "silo2", "silo3", "otel-collector", "prometheus", "grafana" })
            Assert.Contains(expected, services);
    }

    private static async Task<(int, string, string)> RunAsync(string program, params string[] arguments)
    {
        try
        {
            var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var argument in arguments) info.ArgumentList.Add(argument);
            using var process = Process.Start(info)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            return (process.ExitCode, await output, await errors);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return (-1, "", $"{program}: {ex.Message}");
        }
    }
}
