using System.Net;
using System.Net.Sockets;
using Broker.Testing.Hosting;
using Broker.Testing.Processes;

namespace Broker.Silo.Tests.Deployment;

/// <summary>
/// A port FreePort handed out can be taken by another process before the server binds it; the starts retry with
/// new ports only when they recognise that failure (<see cref="FreePort.LostRace(string?)"/>). These tests take the
/// port first, for real, and check that each server's own bind failure is recognised, so a retry would happen.
/// </summary>
public sealed class PortRaceTests
{
    private static TcpListener Hold()
    {
        var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        return holder;
    }

    private static int PortOf(TcpListener holder) => ((IPEndPoint)holder.LocalEndpoint).Port;

    [Fact]
    public async Task Redis_server_on_a_taken_port_exits_with_a_failure_recognised_as_a_lost_race()
    {
        using var holder = Hold();
        var run = await ProgramRun.RunAsync("redis-server",
            ["--port", PortOf(holder).ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], timeout: TimeSpan.FromSeconds(30));

        Assert.NotEqual(0, run.ExitCode);
        Assert.True(FreePort.LostRace(run.Output + run.Errors), run.Output + run.Errors);
    }

    [Theory]
    [InlineData("Broker:Http:HttpPort")]       // Kestrel
    [InlineData("Broker:Http:GrpcPort")]       // Kestrel
    [InlineData("Broker:Cluster:SiloPort")]    // Orleans
    [InlineData("Broker:Cluster:GatewayPort")] // Orleans
    public async Task A_silo_whose_port_is_taken_fails_with_a_bind_error_the_retry_recognises(string setting)
    {
        using var holder = Hold();
        // The setting overrides the free port on every attempt, so every attempt loses and the last failure surfaces.
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => BrokerSilo.StartAsync(new BrokerSiloSettings
        {
            Settings = new() { [setting] = PortOf(holder).ToString() },
        }));

        Assert.True(FreePort.LostRace(failure), failure.ToString());
    }

    [Fact]
    public async Task A_silo_process_whose_port_is_taken_is_retried_and_then_reports_the_taken_port()
    {
        using var holder = Hold();

        var failure = await Record.ExceptionAsync(async () =>
        {
            // Should it start after all, it is stopped here rather than left running.
            await using var silo = await SiloProcess.StartAsync(new Dictionary<string, string?> { ["Broker:Http:GrpcPort"] = PortOf(holder).ToString() });
        });

        Assert.IsType<PortTakenException>(failure);
    }

    [Fact]
    public async Task PostgreSQL_on_a_taken_port_fails_with_a_bind_error_recognised_as_a_lost_race()
    {
        using var holder = Hold();

        var failure = await Record.ExceptionAsync(async () =>
        {
            await using var postgres = await PostgresServer.StartAsync(pinnedPort: PortOf(holder));
        });

        Assert.IsType<PortTakenException>(failure);
    }

    [Fact]
    public void Other_start_failures_are_not_mistaken_for_a_lost_race()
    {
        Assert.False(FreePort.LostRace("silo exited with 2 during start: Broker:Providers:test:Issuer is required."));
        Assert.False(FreePort.LostRace(new InvalidOperationException("initdb: directory exists but is not empty")));
        Assert.True(FreePort.LostRace(new SocketException((int)SocketError.AddressAlreadyInUse)));
    }
}
