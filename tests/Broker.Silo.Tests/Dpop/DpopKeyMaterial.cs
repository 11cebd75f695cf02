using System.Security.Cryptography;
using Broker.Abstractions.Grains;
using Broker.Abstractions.Identity;
using Broker.Grains.ClientTokens;
using Broker.Grains.Families;
using Broker.Grains.Protection;
using Broker.Grains.Storage;
using Broker.Testing.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;
using Orleans.Storage;

namespace Broker.Silo.Tests.Dpop;

/// <summary>
/// The private DPoP keys a silo holds, opened the way the grains open them (the grain storage, then the ring), in every
/// form a leak could take: the private scalar d as base64url (a JWK's "d"), base64 and hex, and PKCS#8 in base64.
/// </summary>
public sealed record DpopKeyMaterial(string Owner, byte[] D, byte[] Pkcs8)
{
    public IEnumerable<string> Texts =>
    [
        Base64UrlEncoder.Encode(D), Convert.ToBase64String(D), Convert.ToHexString(D), Convert.ToHexString(D).ToLowerInvariant(),
        Convert.ToBase64String(Pkcs8),
    ];

    public IEnumerable<byte[]> Bytes => [D, Pkcs8];

    public static async Task<DpopKeyMaterial> OfFamilyAsync(BrokerSilo silo, FamilyKey family)
    {
        var grainKey = family.ToGrainKey();
        var state = new GrainState<TokenFamilyState>(TokenFamilyState.Empty);
        await Storage(silo).ReadStateAsync("family", silo.Grains.GetGrain<ITokenFamilyGrain>(grainKey).GetGrainId(), state);
        return Open(silo, $"family {family.Subject}", state.State!.DpopKey ?? throw new InvalidOperationException("the family holds no DPoP key"),
            $"family/{grainKey}/dpop_key");
    }

    public static async Task<DpopKeyMaterial> OfClientTokenAsync(BrokerSilo silo, ClientTokenKey key)
    {
        var grainKey = key.ToGrainKey();
        var state = new GrainState<ClientTokenState>(new ClientTokenState());
        await Storage(silo).ReadStateAsync("client-token", silo.Grains.GetGrain<IClientTokenGrain>(grainKey).GetGrainId(), state);
        return Open(silo, "client token", state.State!.DpopKey ?? throw new InvalidOperationException("the client token holds no DPoP key"),
            $"client-token/{grainKey}/dpop_key");
    }

    private static IGrainStorage Storage(BrokerSilo silo) => silo.Services.GetRequiredKeyedService<IGrainStorage>(BrokerStorage.Name);

    private static DpopKeyMaterial Open(BrokerSilo silo, string owner, ProtectedSecret sealedKey, string context)
    {
        var pkcs8 = Convert.FromBase64String(silo.Services.GetRequiredService<SecretProtector>().Unprotect(sealedKey, context));
        using var key = ECDsa.Create();
        key.ImportPkcs8PrivateKey(pkcs8, out _);
        return new DpopKeyMaterial(owner, key.ExportParameters(includePrivateParameters: true).D!, pkcs8);
    }

    public override string ToString() => $"the DPoP key of the {Owner}";
}
