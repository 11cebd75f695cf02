using System.Diagnostics;
using Broker.Testing.Hosting;
using Broker.Testing.Processes;
using Microsoft.Extensions.Options;
using Xunit;

namespace Broker.Silo.Tests.Deployment;

/// <summary>
/// Embedded mode with no caller accepts every call as the all-powerful development caller: it must never listen beyond
/// loopback, and the container image must not start at all until it is configured on purpose.
/// </summary>
public sealed class SafeDefaultsTests
{
    [Fact]
    public async Task Embedded_mode_bound_beyond_loopback_without_callers_does_not_start_naming_the_setting()
    {
        var ex = await Record.ExceptionAsync(async () =>
        {
            // Started by mistake (before the rule): stop it again, and fail below.
            await using var silo = await BrokerSilo.StartAsync(new BrokerSiloSettings
            {
                WithoutCallers = true,
                Settings = new() { ["Broker:Http:BindAddress"] = "0.0.0.0" },
            });
        });

        var invalid = Assert.IsType<OptionsValidationException>(ex);
        Assert.Contains(invalid.Failures, f => f.StartsWith("Broker:Http:BindAddress", StringComparison.Ordinal) && f.Contains("Broker:Callers", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Embedded_mode_bound_beyond_loopback_starts_once_callers_are_configured()
    {
        await using var silo = await BrokerSilo.StartAsync(new BrokerSiloSettings
        {
            Settings = new() { ["Broker:Http:BindAddress"] = "0.0.0.0" },
        });

        using var live = await silo.Http.GetAsync("/health/live");
        Assert.True(live.IsSuccessStatusCode);
    }

    [Fact]
    public async Task The_container_image_does_not_start_without_a_deliberate_configuration()
    {
        // Run the silo as the image does: its own folder as working directory (so its appsettings.json applies) and
        // the Dockerfile's ENV, nothing else but free ports (so a silo started by mistake disturbs nothing).
        var silo = BuiltAssembly.Find(Path.Combine("silo", "Broker.Silo"), "Broker.Silo.dll");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, WorkingDirectory = Path.GetDirectoryName(silo)! };
        info.ArgumentList.Add(silo);
        foreach (var variable in info.Environment.Keys.Where(k => k.StartsWith("Broker__", StringComparison.Ordinal)).ToList())
            info.Environment.Remove(variable);
        foreach (var (key, value) in DockerfileEnvironment()) info.Environment[key] = value;
        foreach (var port in new[] { "Http__GrpcPort", "Http__HttpPort", "Cluster__SiloPort", "Cluster__GatewayPort" })
            info.Environment[$"Broker__{port}"] = FreePort.Next().ToString();

        using var process = Process.Start(info)!;
        var errors = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(patience.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("the image's default configuration started a silo (it was still running after 60 s)");
        }

        Assert.Equal(2, process.ExitCode);
        Assert.Contains("Broker cannot start, configuration is invalid", await errors, StringComparison.Ordinal);
    }

    /// <summary>Every <c>ENV key=value</c> of compose/Dockerfile's final stage.</summary>
    private static IEnumerable<(string Key, string Value)> DockerfileEnvironment()
    {
        var lines = File.ReadAllLines(Path.Combine(BuiltAssembly.RepositoryRoot(), "compose", "Dockerfile"));
        var finalStage = Array.FindLastIndex(lines, l => l.StartsWith("FROM ", StringComparison.OrdinalIgnoreCase));
        foreach (var line in lines.Skip(finalStage).Where(l => l.StartsWith("ENV ", StringComparison.OrdinalIgnoreCase)))
        {
            foreach (var pair in line[4..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                var equals = pair.IndexOf('=');
                Assert.True(equals > 0, $"the test reads ENV key=value pairs only: {line}");
                yield return (pair[..equals], pair[(equals + 1)..].Trim('"'));
            }
        }
    }
}
