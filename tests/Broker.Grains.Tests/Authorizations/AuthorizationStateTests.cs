using System.Security.Cryptography;
using Broker.Grains.Authorizations;
using Broker.Grains.Protection;
using Microsoft.Extensions.Options;

namespace Broker.Grains.Tests.Authorizations;

/// <summary>The state is its own proof of origin, across a key rotation, and nothing else passes.</summary>
public sealed class AuthorizationStateTests
{
    private static readonly string Old = Convert.ToBase64String(RandomNumberGenerator.GetBytes(KeyRing.KeySize));
    private static readonly string New = Convert.ToBase64String(RandomNumberGenerator.GetBytes(KeyRing.KeySize));

    private static AuthorizationState Ring(string? primary, params (string Id, string Key)[] keys) => new(new KeyRing(Options.Create(new EncryptionOptions
    {
        Keys = [.. keys.Select(k => new EncryptionKeyOptions { Id = k.Id, Key = k.Key })],
        PrimaryKeyId = primary,
    })));

    [Fact]
    public void A_state_made_before_a_rotation_verifies_while_its_key_is_in_the_ring()
    {
        var state = Ring(null, ("k1", Old)).Create();

        Assert.True(Ring("k2", ("k1", Old), ("k2", New)).IsAuthentic(state));
        Assert.False(Ring(null, ("k2", New)).IsAuthentic(state));
    }

    [Fact]
    public void Every_altered_character_is_refused()
    {
        var states = Ring(null, ("k1", Old));
        var state = states.Create();
        Assert.Equal(AuthorizationState.Length, state.Length);
        Assert.True(states.IsAuthentic(state));
        for (var i = 0; i < state.Length; i++)
        {
            foreach (var c in "AgQw-_9z")
            {
                if (state[i] == c) continue;
                var altered = string.Concat(state.AsSpan(0, i), c.ToString(), state.AsSpan(i + 1));
                Assert.False(states.IsAuthentic(altered), $"altered at {i}");
            }
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("not-a-state-we-issued")]
    [InlineData("%%%%")]
    public void Junk_is_refused(string junk) => Assert.False(Ring(null, ("k1", Old)).IsAuthentic(junk));

    [Fact]
    public void States_of_another_broker_are_refused() =>
        Assert.False(Ring(null, ("k1", Old)).IsAuthentic(Ring(null, ("k1", New)).Create()));
}
