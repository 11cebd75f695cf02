using Broker.Abstractions;
using Broker.Abstractions.Grains;
using Broker.Abstractions.Identity;
using Broker.Grains.Tests.Hosting;
using Broker.Grains.Upstream;

namespace Broker.Grains.Tests.Throttling;

/// <summary>Provider "test" lets each caller create two client-token keys an hour.</summary>
public sealed class TwoKeysPerCallerCluster : FakeClockCluster
{
    protected override Dictionary<string, string?> Settings => new() { ["Broker:Providers:test:MaxClientTokenKeysPerCaller"] = "2" };
}

/// <summary>The bound on a caller's client-token keys, on the fake clock: a key counts for an hour after its last token request.</summary>
public sealed class CallerKeyWindowTests(TwoKeysPerCallerCluster cluster) : IClassFixture<TwoKeysPerCallerCluster>
{
    private Task<Broker.Abstractions.Tokens.AccessTokenResult> Token(string caller, string resource)
    {
        CallerRequestContext.Set(caller);
        var key = new ClientTokenKey(ProviderName.Parse("test"), "broker", ScopeSet.Parse(["api.read"]), resource);
        return cluster.Grains.GetGrain<IClientTokenGrain>(key.ToGrainKey()).GetAccessToken(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_callers_third_key_waits_until_its_oldest_has_been_unused_for_an_hour_while_others_go_on()
    {
        await Token("a", "https://api.example/1");
        cluster.Clock.Advance(TimeSpan.FromMinutes(20));
        await Token("a", "https://api.example/2");

        var refused = await Assert.ThrowsAsync<BrokerException>(() => Token("a", "https://api.example/3"));
        Assert.Equal((BrokerErrorReason.Throttled, ClientThrottleGrain.ClientTokenKeys), (refused.Reason, refused.Detail));
        Assert.Equal(TimeSpan.FromMinutes(40), refused.RetryAfter); // when the first key stops counting
        await Token("b", "https://api.example/3");                 // another caller's keys are its own

        cluster.Clock.Advance(TimeSpan.FromMinutes(40) - TimeSpan.FromSeconds(1));
        await Assert.ThrowsAsync<BrokerException>(() => Token("a", "https://api.example/4"));
        cluster.Clock.Advance(TimeSpan.FromSeconds(1));
        await Token("a", "https://api.example/4");
    }
}
