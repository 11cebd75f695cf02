using Broker.OAuth.Authorization;

namespace Broker.OAuth.Tests.Authorization;

public sealed class PkceTests
{
    [Fact]
    public void Challenge_matches_the_RFC_7636_appendix_B_example()
    {
        Assert.Equal("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", Pkce.ChallengeOf("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
    }

    [Fact]
    public void Verifiers_are_43_unreserved_characters_and_never_repeat()
    {
        var verifiers = Enumerable.Range(0, 1000).Select(_ => Pkce.CreateVerifier()).ToList();

        Assert.All(verifiers, v => Assert.Matches("^[A-Za-z0-9_-]{43}$", v));
        Assert.Equal(verifiers.Count, verifiers.Distinct().Count());
    }

    [Fact]
    public void State_key_is_a_hash_not_the_state()
    {
        var state = OneTimeValue.Create();

        var key = OneTimeValue.KeyOf(state);

        Assert.NotEqual(state, key);
        Assert.Equal(key, OneTimeValue.KeyOf(state));
        Assert.NotEqual(key, OneTimeValue.KeyOf(OneTimeValue.Create()));
    }
}
