using Broker.Abstractions.Identity;
using Broker.Abstractions.Tokens;
using Broker.Grains.Protection;

namespace Broker.Grains.Authorizations;

[GenerateSerializer]
public sealed class PendingAuthorizationState
{
    [Id(0)] public FamilyKey Family { get; set; }
    [Id(1)] public ScopeSet Scopes { get; set; } = ScopeSet.Empty;
    [Id(2)] public ProtectedSecret? CodeVerifier { get; set; }
    [Id(3)] public ProtectedSecret? Nonce { get; set; }
    [Id(4)] public DateTimeOffset ExpiresAt { get; set; }
    /// <summary>Set, and persisted, before the code is redeemed: a state is good for one response.</summary>
    [Id(5)] public bool Used { get; set; }
    /// <summary>Who began it, where the browser returns, and whether the account may change: see <see cref="AuthorizationBinding"/>.</summary>
    [Id(6)] public AuthorizationBinding? Binding { get; set; }
}

/// <summary>Lifetime of a pending authorization: <c>Broker:Authorizations</c>.</summary>
public sealed class AuthorizationOptions
{
    public const string Section = "Broker:Authorizations";

    public TimeSpan PendingLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long redeemed tokens wait for the caller's claim before they are discarded and revoked upstream.</summary>
    public TimeSpan CompletionLifetime { get; set; } = TimeSpan.FromMinutes(5);
}
