using Broker.Abstractions.Identity;
using Broker.Abstractions.Tokens;
using Broker.Silo.Api;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Silo.Tests.Api;

/// <summary>A silo's leased copies on the fake clock: served within the lease counted from before the call, fresh enough by the family's rule.</summary>
public sealed class ServedTokenCacheTests
{
    private static readonly TimeSpan Lease = TimeSpan.FromMilliseconds(200);
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));

    private AccessTokenResult Token(TimeSpan lifetime, TimeSpan lease, TokenSource source = TokenSource.Refresh) =>
        new("at-1", "Bearer", _clock.GetUtcNow() + lifetime, ScopeSet.Parse(["api"]), source) { IssuedAt = _clock.GetUtcNow(), Lease = lease };

    [Fact]
    public void A_copy_is_served_until_its_lease_ends_counted_from_before_the_call()
    {
        var cache = new ServedTokenCache<string>(_clock);
        var started = cache.Start();
        _clock.Advance(TimeSpan.FromMilliseconds(30)); // the grain call's round trip
        cache.Put("f", Token(TimeSpan.FromMinutes(10), Lease), started);

        _clock.Advance(Lease - TimeSpan.FromMilliseconds(31));
        Assert.True(cache.TryGet("f", TimeSpan.FromSeconds(30), out var hit));
        Assert.Equal((TokenSource.Cache, "at-1"), (hit.Source, hit.AccessToken));

        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(cache.TryGet("f", TimeSpan.FromSeconds(30), out _));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void A_copy_is_not_served_to_a_caller_it_is_not_fresh_enough_for()
    {
        var cache = new ServedTokenCache<string>(_clock);
        // Issued 8 minutes ago, 2 minutes left.
        var token = Token(TimeSpan.FromMinutes(2), Lease) with { IssuedAt = _clock.GetUtcNow() - TimeSpan.FromMinutes(8) };
        cache.Put("f", token, cache.Start());

        Assert.False(cache.TryGet("f", TimeSpan.FromMinutes(2), out _));
        Assert.False(cache.TryGet("f", TimeSpan.FromMinutes(30), out _)); // capped at half the lifetime (5 min): still more than is left
        Assert.True(cache.TryGet("f", TimeSpan.FromMinutes(1), out _));
    }

    [Fact]
    public void Nothing_is_kept_without_a_lease_or_once_the_lease_ran_out_during_the_call()
    {
        var cache = new ServedTokenCache<string>(_clock);
        cache.Put("none", Token(TimeSpan.FromMinutes(10), TimeSpan.Zero), cache.Start());
        var started = cache.Start();
        _clock.Advance(Lease);
        cache.Put("late", Token(TimeSpan.FromMinutes(10), Lease), started);

        Assert.False(cache.TryGet("none", TimeSpan.Zero, out _));
        Assert.False(cache.TryGet("late", TimeSpan.Zero, out _));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void At_capacity_expired_copies_make_room_and_live_ones_are_never_pushed_out()
    {
        var cache = new ServedTokenCache<string>(_clock, capacity: 2);
        cache.Put("a", Token(TimeSpan.FromMinutes(10), Lease), cache.Start());
        cache.Put("b", Token(TimeSpan.FromMinutes(10), Lease), cache.Start());
        cache.Put("c", Token(TimeSpan.FromMinutes(10), Lease), cache.Start());
        Assert.False(cache.TryGet("c", TimeSpan.Zero, out _));

        _clock.Advance(Lease);
        cache.Put("c", Token(TimeSpan.FromMinutes(10), Lease), cache.Start());
        Assert.True(cache.TryGet("c", TimeSpan.Zero, out _));
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void A_removed_copy_is_not_served()
    {
        var cache = new ServedTokenCache<FamilyKey>(_clock);
        var key = new FamilyKey(ProviderName.Parse("test"), Subject.Parse("alice"));
        cache.Put(key, Token(TimeSpan.FromMinutes(10), Lease), cache.Start());
        cache.Remove(key);
        Assert.False(cache.TryGet(key, TimeSpan.Zero, out _));
    }
}
