using Broker.Testing.Processes;

namespace Broker.Bench.Soak;

/// <summary>
/// One place in the cluster a silo process runs in, as an orchestrator sees it: whether it is wanted, the process now
/// in it, and whether the load balancer sends it calls (ready at its last probe).
/// </summary>
public sealed class SiloSlot(string name)
{
    public string Name { get; } = name;

    /// <summary>Held while the slot's process is being started or stopped, by the schedule or the supervisor.</summary>
    public SemaphoreSlim Changing { get; } = new(1, 1);

    public bool Wanted { get; set; }
    public SiloProcess? Process { get; set; }
    public volatile bool Routable;
    public int Starts;
    public int FailedProbes;

    /// <summary>Times the process exited while wanted, nobody having stopped it: restarted by the supervisor.</summary>
    public int UnplannedExits;
}
