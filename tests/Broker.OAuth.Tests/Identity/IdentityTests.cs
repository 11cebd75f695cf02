using Broker.Abstractions;
using Broker.Abstractions.Identity;

namespace Broker.OAuth.Tests.Identity;

public sealed class IdentityTests
{
    [Theory]
    [InlineData("github", true)]
    [InlineData("contoso-entra_2", true)]
    [InlineData("", false)]
    [InlineData("GitHub", false)]
    [InlineData("-leading", false)]
    [InlineData("has/slash", false)]
    [InlineData("a234567890123456789012345678901234567890123456789012345678901234", true)]
    [InlineData("a2345678901234567890123456789012345678901234567890123456789012345", false)]
    [InlineData("github\n", false)]
    public void Provider_names_are_lower_case_tokens(string value, bool valid)
    {
        Assert.Equal(valid, ProviderName.TryParse(value, out _));
    }

    [Theory]
    [InlineData("alice", true)]
    [InlineData("user:42/tenant@x", true)]
    [InlineData("", false)]
    [InlineData("has space", false)]
    [InlineData("tab\t", false)]
    [InlineData("ümlaut", false)]
    public void Subjects_are_visible_ascii(string value, bool valid)
    {
        Assert.Equal(valid, Subject.TryParse(value, out _));
    }

    [Fact]
    public void Subject_longer_than_256_is_refused()
    {
        Assert.False(Subject.TryParse(new string('a', 257), out _));
        Assert.True(Subject.TryParse(new string('a', 256), out _));
    }

    [Fact]
    public void Scope_sets_ignore_order_and_duplicates()
    {
        Assert.Equal(ScopeSet.Parse(["b", "a"]), ScopeSet.Parse(["a", "b", "a"]));
        Assert.Equal("a b", ScopeSet.Parse(["b", "a"]).ToString());
    }

    [Fact]
    public void Sorted_scopes_make_the_same_set_and_hash_as_unsorted_ones()
    {
        // A list already sorted and distinct takes the short way; it must land where the sorting way does.
        var sorted = ScopeSet.Parse(new List<string> { "a", "b", "c" });
        var unsorted = ScopeSet.Parse(new List<string> { "c", "a", "b", "a" });
        Assert.Equal(unsorted, sorted);
        Assert.Equal(unsorted.GetHashCode(), sorted.GetHashCode());
        Assert.Equal("a b c", sorted.ToString());
        Assert.Same(ScopeSet.Empty, ScopeSet.Parse(new List<string>()));
        Assert.NotEqual(ScopeSet.Parse(["a", "b"]).GetHashCode(), ScopeSet.Parse(["ab"]).GetHashCode());
    }

    [Fact]
    public void Sorted_scopes_are_still_checked_for_form_and_count()
    {
        Assert.Equal(BrokerErrorReason.InvalidArgument, Assert.Throws<BrokerException>(() => ScopeSet.Parse(new List<string> { "a", "b c" })).Reason);
        var tooMany = Enumerable.Range(0, ScopeSet.MaxScopes + 1).Select(i => $"s{i:D3}").ToList();
        Assert.Equal(BrokerErrorReason.InvalidArgument, Assert.Throws<BrokerException>(() => ScopeSet.Parse(tooMany)).Reason);
        Assert.Equal(ScopeSet.MaxScopes, ScopeSet.Parse(tooMany.Take(ScopeSet.MaxScopes).ToList()).Values.Length);
    }

    [Theory]
    [InlineData("with space")]
    [InlineData("quote\"")]
    [InlineData("back\\slash")]
    [InlineData("")]
    public void Scope_tokens_follow_RFC_6749(string scope)
    {
        var ex = Assert.Throws<BrokerException>(() => ScopeSet.Parse([scope]));
        Assert.Equal(BrokerErrorReason.InvalidArgument, ex.Reason);
    }

    [Fact]
    public void Client_token_keys_differ_by_scopes_and_resource_and_round_trip()
    {
        var provider = ProviderName.Parse("p");
        var a = new ClientTokenKey(provider, "client", ScopeSet.Parse(["x"]), "");
        var b = new ClientTokenKey(provider, "client", ScopeSet.Parse(["x"]), "https://api.example/");
        var c = new ClientTokenKey(provider, "client", ScopeSet.Parse(["x", "y"]), "");
        // A slash inside a part cannot be confused with the separator.
        var d = new ClientTokenKey(provider, "client/x", ScopeSet.Empty, "");
        var e = new ClientTokenKey(provider, "client", ScopeSet.Parse(["x"]), "/");

        var keys = new[] { a, b, c, d, e }.Select(k => k.ToGrainKey()).ToList();

        Assert.Equal(keys.Count, keys.Distinct().Count());
        Assert.All(new[] { a, b, c, d, e }, k => Assert.Equal(k, ClientTokenKey.FromGrainKey(k.ToGrainKey())));
    }

    [Fact]
    public void Family_key_round_trips_subjects_with_separators()
    {
        var key = new FamilyKey(ProviderName.Parse("p"), Subject.Parse("tenant/user%2F1"));

        Assert.Equal(key, FamilyKey.FromGrainKey(key.ToGrainKey()));
    }
}
