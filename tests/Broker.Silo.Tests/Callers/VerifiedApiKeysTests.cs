using Broker.Silo.Callers;

namespace Broker.Silo.Tests.Callers;

public sealed class VerifiedApiKeysTests
{
    [Fact]
    public void A_verified_key_is_found_again_and_nothing_else_is()
    {
        var key = ApiKeyHash.NewKey();
        var other = ApiKeyHash.NewKey();
        var verified = new VerifiedApiKeys();

        Assert.Null(verified.Find(key)); // nothing is kept before a key matched
        verified.Remember(key, "svc");

        Assert.Equal("svc", verified.Find(key));
        Assert.Equal("svc", verified.Find(new string(key.ToCharArray()))); // by value, not by reference
        Assert.Null(verified.Find(other));
        Assert.Null(verified.Find(key[..^1] + (key[^1] == 'a' ? 'b' : 'a'))); // same length, last character differs
        Assert.Null(verified.Find(key + "x"));
    }

    [Fact]
    public void Keys_past_the_capacity_start_the_set_over_and_overlong_credentials_are_never_kept()
    {
        var verified = new VerifiedApiKeys(capacity: 2);
        var keys = Enumerable.Range(0, 3).Select(_ => ApiKeyHash.NewKey()).ToArray();
        foreach (var key in keys) verified.Remember(key, "svc");

        Assert.Equal([null, null, "svc"], keys.Select(verified.Find));
        var overlong = new string('k', VerifiedApiKeys.MaxKeyLength + 1);
        verified.Remember(overlong, "svc");
        Assert.Null(verified.Find(overlong));
    }
}
