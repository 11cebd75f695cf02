using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace Broker.Grains.Operations;

/// <summary>
/// Places a grain on the silo its key names (a parsable silo address), for grains that report what one silo holds
/// in memory. A silo that is not an active member gets no activation: the call fails instead of answering for another.
/// </summary>
public sealed class OnSiloPlacement : PlacementStrategy;

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class OnSiloPlacementAttribute() : PlacementAttribute(new OnSiloPlacement());

public sealed class OnSiloPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var named = SiloAddress.FromParsableString(target.GrainIdentity.Key.ToString()!);
        return context.GetCompatibleSilos(target).Contains(named)
            ? Task.FromResult(named)
            : throw new OrleansException($"silo {named} is not an active member of the cluster.");
    }
}
