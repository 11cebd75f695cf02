using Broker.Abstractions.Identity;
using Broker.Abstractions.Tokens;
using Broker.Grains.Families;
using Broker.Grains.Protection;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Grains.Tests.Families.Decisions;

/// <summary>
/// A family's state, a fake clock and the rules, for feeding events to <see cref="TokenFamilyDecisions"/>.
/// Secrets are stand-ins: the decisions only move them, never open them.
/// </summary>
public sealed class FamilyScenario
{
    public static readonly DateTimeOffset Start = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    public FakeTimeProvider Clock { get; } = new(Start);
    public Guid Activation { get; } = Guid.NewGuid();
    public FamilyRules Rules { get; set; } = new() { RefreshAhead = false, ExpiryBuffer = TimeSpan.FromMinutes(5), ReuseLeeway = TimeSpan.Zero };
    public TokenFamilyState State { get; set; } = TokenFamilyState.Empty;

    public FamilyContext Context => new(Clock.GetUtcNow(), Activation, Rules, "test");

    /// <summary>Decides the event on the current state and moves to the decided state.</summary>
    public FamilyDecision On(FamilyEvent e)
    {
        var decision = TokenFamilyDecisions.Decide(State, e, Context);
        State = decision.State;
        return decision;
    }

    /// <summary>An active family whose access token was issued now and lives <paramref name="lifetime"/>.</summary>
    public FamilyScenario Active(TimeSpan lifetime, bool withRefreshToken = true)
    {
        State = TokenFamilyState.Empty with
        {
            Status = FamilyStatus.Active,
            AccessToken = Secret("access"),
            AccessTokenIssuedAt = Clock.GetUtcNow(),
            AccessTokenExpiresAt = Clock.GetUtcNow() + lifetime,
            RefreshToken = withRefreshToken ? Secret("refresh") : null,
            RefreshTokenReceivedAt = Clock.GetUtcNow(),
            Scopes = ScopeSet.Parse(["api.read"]),
            Generation = 1,
        };
        return this;
    }

    public static ProtectedSecret Secret(string name) => new(name, new byte[12], [1, 2, 3], new byte[16]);

    public SealedTokens Tokens(TimeSpan lifetime, string name = "next", bool withRefreshToken = true) => new(
        Secret($"{name}-access"), "Bearer", Clock.GetUtcNow() + lifetime,
        withRefreshToken ? Secret($"{name}-refresh") : null, null, ScopeSet.Parse(["api.read"]), Clock.GetUtcNow());

    public static T Single<T>(FamilyDecision decision) where T : FamilyEffect => Assert.Single(decision.Effects.OfType<T>());

    public static void Nothing<T>(FamilyDecision decision) where T : FamilyEffect => Assert.Empty(decision.Effects.OfType<T>());
}
