using Broker.Abstractions.Grains;
using Broker.Abstractions.Identity;

namespace Broker.Silo.Api;

/// <summary>
/// The grains the hot path calls, by key. <c>GetGrain&lt;T&gt;(string)</c> resolves the interface's grain type from its
/// attributes on every call (reflection, about 4 % of a cache hit's CPU); here it is resolved once per interface.
/// </summary>
public sealed class GrainReferences(IGrainFactory grains)
{
    private readonly Kind<ITokenFamilyGrain> _families = new(grains);
    private readonly Kind<IClientTokenGrain> _clientTokens = new(grains);

    public ITokenFamilyGrain Family(FamilyKey family) => _families.Get(family.ToGrainKey());

    public IClientTokenGrain ClientToken(ClientTokenKey key) => _clientTokens.Get(key.ToGrainKey());

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
