using System.CommandLine;
using Broker.Abstractions;
using Broker.Ops.Cluster;
using Broker.Ops.Storage;
using Microsoft.Extensions.Configuration;

namespace Broker.Ops.Commands;

/// <summary>What every command shares: the configuration, <c>--json</c>, and one way to fail.</summary>
public sealed class OpsContext(IConfiguration configuration)
{
    public Option<bool> Json { get; } = new("--json") { Description = "Write JSON for scripts instead of a table.", Recursive = true };

    public IConfiguration Configuration { get; } = configuration;

    /// <summary>Runs a command against the cluster; failures become one line on stderr and an exit code.</summary>
    public Task<int> RunAsync(ParseResult result, Func<ClusterConnection, StoredGrains, bool, Task<int>> command) =>
        GuardAsync(async () =>
        {
            var settings = OpsSettings.From(Configuration);
            await using var connection = await ClusterConnection.OpenAsync(settings, CancellationToken.None);
            return await command(connection, new StoredGrains(settings.PostgreSql, settings.ServiceId), result.GetValue(Json));
        });

    public static async Task<int> GuardAsync(Func<Task<int>> command)
    {
        try
        {
            return await command();
        }
        catch (OpsException ex)
        {
            await Console.Error.WriteLineAsync($"error: {ex.Message}");
            return ex.ExitCode;
        }
        catch (BrokerException ex)
        {
            // The grain's own typed reason; its message never holds a token.
            await Console.Error.WriteLineAsync($"error: {ex.Reason}: {ex.Message}");
            return ExitCodes.Failed;
        }
        catch (Microsoft.Extensions.Options.OptionsValidationException ex)
        {
            foreach (var failure in ex.Failures) await Console.Error.WriteLineAsync($"error: {failure}");
            return ExitCodes.Configuration;
        }
        catch (Npgsql.NpgsqlException ex)
        {
            await Console.Error.WriteLineAsync($"error: PostgreSQL: {ex.GetType().Name}");
            return ExitCodes.Unreachable;
        }
    }
}
