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

    [Fact]
    public async Task Concurrent_misses_on_one_key_ask_the_grain_once()
    {
        var cache = new ServedTokenCache<string>(_clock);
        var grain = new GatedGrain(Token(TimeSpan.FromMinutes(10), Lease));
        var callers = Enumerable.Range(0, 64).Select(_ => Task.Run(() => cache.LeaseAsync("f", TimeSpan.FromMinutes(1), grain.Lease, CancellationToken.None))).ToList();
        await grain.Asked(1);
        grain.Answer(); // callers still arriving find the call in flight, or the copy it left

        var leased = await Task.WhenAll(callers);
        Assert.Equal(1, grain.Calls);
        Assert.Single(leased, l => !l.Shared);
        Assert.All(leased, l => Assert.Equal("at-1", l.Token.AccessToken));
        Assert.All(leased.Where(l => l.Shared), l => Assert.Equal(TokenSource.Cache, l.Token.Source));
    }

    [Fact]
    public async Task When_the_refresh_outlasts_the_lease_the_waiters_share_one_more_call()
    {
        var cache = new ServedTokenCache<string>(_clock);
        var refresh = new GatedGrain(Token(TimeSpan.FromMinutes(10), Lease));
        var first = await InFlight(cache, refresh);
        // The grain answers the call after the refresh from what it holds, as soon as the test lets it.
        var after = new GatedGrain(Token(TimeSpan.FromMinutes(10), Lease) with { Source = TokenSource.Cache });
        var waiters = Enumerable.Range(0, 32).Select(_ => cache.LeaseAsync("f", TimeSpan.Zero, after.Lease, CancellationToken.None)).ToList();
        _clock.Advance(Lease); // the refresh took the whole lease: its copy is not kept
        refresh.Answer();
        Assert.False((await first).Shared);

        await after.Asked(1);
        await Task.Delay(50); // real time for any other waiter to call too, as each did before
        after.Answer();
        var leased = await Task.WhenAll(waiters);
        Assert.Equal(1, after.Calls);
        Assert.Equal(31, leased.Count(l => l.Shared));
    }

    [Fact]
    public async Task A_waiter_the_shared_copy_is_not_fresh_enough_for_asks_the_grain_itself()
    {
        var cache = new ServedTokenCache<string>(_clock);
        // Issued 8 minutes ago, 2 minutes left: fresh enough for one minute, not for two.
        var grain = new GatedGrain(Token(TimeSpan.FromMinutes(2), Lease) with { IssuedAt = _clock.GetUtcNow() - TimeSpan.FromMinutes(8) });
        var first = await InFlight(cache, grain, TimeSpan.FromMinutes(1));
        var wanting = cache.LeaseAsync("f", TimeSpan.FromMinutes(2), grain.Lease, CancellationToken.None);
        grain.Answer();

        Assert.False((await first).Shared);
        Assert.False((await wanting).Shared);
        Assert.Equal(2, grain.Calls);
    }

    [Fact]
    public async Task Waiters_ask_for_themselves_when_the_shared_call_fails_and_the_caller_sees_its_error()
    {
        var cache = new ServedTokenCache<string>(_clock);
        var calls = 0;
        var gate = new TaskCompletionSource();
        async Task<AccessTokenResult> Failing()
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                await gate.Task;
                throw new InvalidOperationException("the first caller's budget is spent");
            }
            return Token(TimeSpan.FromMinutes(10), Lease);
        }
        var first = cache.LeaseAsync("f", TimeSpan.Zero, Failing, CancellationToken.None);
        var waiters = Enumerable.Range(0, 3).Select(_ => cache.LeaseAsync("f", TimeSpan.Zero, Failing, CancellationToken.None)).ToList();
        gate.SetResult();

        await Assert.ThrowsAsync<InvalidOperationException>(() => first);
        var leased = await Task.WhenAll(waiters);
        Assert.All(leased, l => Assert.Equal("at-1", l.Token.AccessToken));
        Assert.InRange(calls, 2, 4); // each waiter asked, or took the copy one of them left
    }

    [Fact]
    public async Task A_token_without_a_lease_is_not_shared()
    {
        var cache = new ServedTokenCache<string>(_clock);
        var grain = new GatedGrain(Token(TimeSpan.FromMinutes(10), TimeSpan.Zero));
        var first = await InFlight(cache, grain);
        var second = cache.LeaseAsync("f", TimeSpan.Zero, grain.Lease, CancellationToken.None);
        grain.Answer();

        await first;
        Assert.False((await second).Shared);
        Assert.Equal(2, grain.Calls);
    }

    [Fact]
    public async Task A_waiters_cancellation_ends_only_its_own_wait()
    {
        var cache = new ServedTokenCache<string>(_clock);
        var grain = new GatedGrain(Token(TimeSpan.FromMinutes(10), Lease));
        var first = await InFlight(cache, grain);
        using var cancel = new CancellationTokenSource();
        var impatient = cache.LeaseAsync("f", TimeSpan.Zero, grain.Lease, cancel.Token);
        var patient = cache.LeaseAsync("f", TimeSpan.Zero, grain.Lease, CancellationToken.None);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => impatient);

        grain.Answer();
        Assert.True((await patient).Shared);
        Assert.False((await first).Shared);
        Assert.Equal(1, grain.Calls);
    }

    [Fact]
    public async Task Misses_on_different_keys_do_not_wait_for_each_other()
    {
        var cache = new ServedTokenCache<string>(_clock);
        var held = new GatedGrain(Token(TimeSpan.FromMinutes(10), Lease));
        var blocked = await InFlight(cache, held, key: "a");

        var other = await cache.LeaseAsync("b", TimeSpan.Zero, () => Task.FromResult(Token(TimeSpan.FromMinutes(10), Lease)), CancellationToken.None);
        Assert.False(other.Shared);
        Assert.False(blocked.IsCompleted);
        held.Answer();
        await blocked;
    }

    /// <summary>A miss whose grain call has started and waits for the test to answer it.</summary>
    private static async Task<Task<LeasedToken>> InFlight(ServedTokenCache<string> cache, GatedGrain grain, TimeSpan minTimeToLive = default, string key = "f")
    {
        var call = cache.LeaseAsync(key, minTimeToLive, grain.Lease, CancellationToken.None);
        await grain.Asked(1);
        return call;
    }

    /// <summary>A grain stand-in whose answer waits until the test releases it, counting the calls.</summary>
    private sealed class GatedGrain(AccessTokenResult token)
    {
        private readonly TaskCompletionSource _answer = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public async Task<AccessTokenResult> Lease()
        {
            Interlocked.Increment(ref _calls);
            await _answer.Task;
            return token;
        }

        public void Answer() => _answer.TrySetResult();

        public async Task Asked(int calls)
        {
            for (var i = 0; i < 400 && Calls < calls; i++) await Task.Delay(5);
            Assert.True(Calls >= calls);
        }
    }
}
