using Broker.Grains.Protection;

namespace Broker.Grains.ClientTokens;

[GenerateSerializer]
public sealed class ClientTokenState
{
    [Id(0)] public ProtectedSecret? AccessToken { get; set; }
    [Id(1)] public string TokenType { get; set; } = "Bearer";
    [Id(2)] public DateTimeOffset IssuedAt { get; set; }
    [Id(3)] public DateTimeOffset ExpiresAt { get; set; }
    [Id(4)] public Abstractions.Identity.ScopeSet Scopes { get; set; } = Abstractions.Identity.ScopeSet.Empty;
    [Id(5)] public long Generation { get; set; }

    /// <summary>The DPoP private key (RFC 9449) the token is bound to, sealed; never handed out. (Ids 25-29 are DPoP's.)</summary>
    [Id(25)] public ProtectedSecret? DpopKey { get; set; }
}
