using System.CommandLine;
using Broker.Ops.Cluster;
using Broker.Ops.Output;

namespace Broker.Ops.Commands;

/// <summary><c>cluster show</c>: the silos Orleans' membership knows, their status and activation counts.</summary>
public static class ClusterCommands
{
    public static Command Create(OpsContext ops)
    {
        var cluster = new Command("cluster", "The cluster.");
        var show = new Command("show", "Silos, their status and activation counts.");
        show.SetAction((result, cancellationToken) => ops.RunAsync(result, async (connection, _, json) =>
        {
            var management = connection.Grains.GetGrain<IManagementGrain>(0);
            var hosts = await management.GetDetailedHosts(onlyActive: false);
            var statistics = await management.GetSimpleGrainStatistics();
            var activations = statistics.GroupBy(s => s.SiloAddress).ToDictionary(g => g.Key, g => g.Sum(s => s.ActivationCount));
            var rows = hosts.OrderBy(h => h.SiloName, StringComparer.Ordinal).Select(h => (IReadOnlyList<object?>)
            [
                h.SiloName, h.SiloAddress.ToParsableString(), h.Status.ToString(), h.StartTime.ToString("u", System.Globalization.CultureInfo.InvariantCulture),
                activations.GetValueOrDefault(h.SiloAddress),
            ]).ToList();
            Report.Write(Console.Out, json, ["silo", "address", "status", "started", "activations"], rows);
            return ExitCodes.Ok;
        }));
        cluster.Subcommands.Add(show);
        return cluster;
    }
}
