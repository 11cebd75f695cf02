using Broker.Abstractions.Grains;
using Broker.Abstractions.Identity;
using Broker.Silo.Callers;

namespace Broker.Silo.Api;

/// <summary>
/// The grains the gRPC layer calls, by key, each taken for one caller's call. <c>GetGrain&lt;T&gt;(string)</c> resolves
/// the interface's grain type from its attributes on every call (reflection, about 4 % of a cache hit's CPU); here the
/// hot path's are resolved once per interface.
/// </summary>
/// <remarks>
/// Taking a reference puts the caller into Orleans' request context (<see cref="CallerRequestContext"/>), so that the
/// grain calls the service makes carry it: the token budget gives each caller its own share, a new family records its
/// owner. The request context is an <see cref="AsyncLocal{T}"/>: set in these synchronous methods it stays set in the
/// async service method that took the reference, and flows into every call it makes after that. Set here rather than
/// for every call, because a cache hit calls no grain, and setting it (a copied dictionary and a changed execution
/// context) was about a tenth of what a hit allocated.
/// </remarks>
public sealed class GrainReferences(IGrainFactory grains)
{
    private readonly Kind<ITokenFamilyGrain> _families = new(grains);
    private readonly Kind<IClientTokenGrain> _clientTokens = new(grains);

    public ITokenFamilyGrain Family(FamilyKey family, CallerContext call)
    {
        Carry(call);
        return _families.Get(family.ToGrainKey());
    }

    public IClientTokenGrain ClientToken(ClientTokenKey key, CallerContext call)
    {
        Carry(call);
        return _clientTokens.Get(key.ToGrainKey());
    }

    /// <summary>A grain off the hot path (authorizations), by its string key.</summary>
    public T Other<T>(string key, CallerContext call) where T : IGrainWithStringKey
    {
        Carry(call);
        return grains.GetGrain<T>(key);
    }

    private static void Carry(CallerContext call) => CallerRequestContext.Set(call.Caller.Name);

    private sealed class Kind<T>(IGrainFactory grains) where T : IGrainWithStringKey
    {
        // A reference, so that it is published whole: a nullable struct here was written field by field, and a request
        // racing the first one on a new silo could read it half-written (ScalingTests: INTERNAL on a first call).
        private Resolved? _resolved;

        public T Get(string key)
        {
            var resolved = _resolved ??= Resolve();
            return (T)grains.GetGrain(GrainId.Create(resolved.Type, key), resolved.Interface);
        }

        private Resolved Resolve()
        {
            var sample = (GrainReference)(object)grains.GetGrain<T>("-");
            return new Resolved(sample.GrainId.Type, sample.InterfaceType);
        }
    }

    private sealed record Resolved(GrainType Type, GrainInterfaceType Interface);
}
