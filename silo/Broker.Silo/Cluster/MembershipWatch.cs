using Microsoft.Extensions.Options;

namespace Broker.Silo.Cluster;

/// <summary>
/// Reads the membership table every <see cref="MembershipWatchOptions.CheckInterval"/> while the silo is active and,
/// once <see cref="ClusterMembership"/> says the silo left its cluster, stops it with exit code 5 so that its
/// supervisor starts it again. Readiness and the gRPC API refuse from that moment, before the stop completes.
/// </summary>
public sealed partial class MembershipWatch(
    IMembershipTable table,
    ILocalSiloDetails self,
    ISiloStatusOracle oracle,
    ClusterMembership membership,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    IOptions<MembershipWatchOptions> options,
    ILogger<MembershipWatch> logger) : BackgroundService
{
    /// <summary>The process exit code of a silo that left its cluster (2: configuration, 3: schema, 4: storage unreachable at start).</summary>
    public const int ExitCode = 5;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.CheckInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            // Joining, or leaving on purpose: the table may rightly not list this silo as active.
            if (oracle.CurrentStatus != SiloStatus.Active) continue;
            try
            {
                membership.Observe(await table.ReadAllAsync(stoppingToken).WaitAsync(options.Value.CheckInterval, stoppingToken), self.SiloAddress);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                membership.ObserveFailure();
            }
            if (membership.LostBecause is { } why)
            {
                Leave(why);
                return;
            }
        }
    }

    private void Leave(string why)
    {
        LogLeaving(logger, self.SiloAddress.ToString(), why);
        lifetime.StopApplication(); // the process's exit code is the host's to set (Program)
    }

    [LoggerMessage(EventId = 5100, Level = LogLevel.Critical, Message = "Silo {Silo} left its cluster: {Why}. It stops serving now and exits (code 5) so that its supervisor starts it again into the cluster.")]
    private static partial void LogLeaving(ILogger logger, string silo, string why);
}
