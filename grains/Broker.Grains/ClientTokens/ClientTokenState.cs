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

    /// <summary>The caller that first asked for this token: the owner its events name.</summary>
    [Id(6)] public string? Owner { get; set; }

    /// <summary>Whether the last request was refused, and flapping control (<see cref="ClientTokenNotifications"/>).</summary>
    [Id(7)] public ClientTokenHealth Health { get; set; } = ClientTokenHealth.Healthy;

    /// <summary>The DPoP private key (RFC 9449) the token is bound to, sealed; never handed out. (Ids 25-29 are DPoP's.)</summary>
    [Id(25)] public ProtectedSecret? DpopKey { get; set; }
}
