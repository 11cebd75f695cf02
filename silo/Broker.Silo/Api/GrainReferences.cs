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
        private (GrainType Type, GrainInterfaceType Interface)? _resolved;

        public T Get(string key)
        {
            var (type, @interface) = _resolved ??= Resolve();
            return (T)grains.GetGrain(GrainId.Create(type, key), @interface);
        }

        private (GrainType, GrainInterfaceType) Resolve()
        {
            var sample = (GrainReference)(object)grains.GetGrain<T>("-");
            return (sample.GrainId.Type, sample.InterfaceType);
        }
    }
}
