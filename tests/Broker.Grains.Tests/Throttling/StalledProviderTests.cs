using Broker.Testing;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Faults;
using Broker.Testing.Hosting;
using Broker.V1;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;

namespace Broker.Grains.Tests.Throttling;

/// <summary>
/// A token endpoint that stops answering (the fault proxy holds the refresh) stops the client's new refreshes on every
/// silo: the soak's main finding, black-box through gRPC on two silo processes. A 1 s request timeout keeps it short.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class StalledProviderTests(Infrastructure infrastructure) : IAsyncLifetime
{
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TestAuthorizationServer _server = null!;
    private FaultInjectingProxy _proxy = null!;
    private BrokerSilo[] _silos = [];

    public async Task InitializeAsync()
    {
        _server = await TestAuthorizationServer.StartAsync(new TestAuthorizationServerOptions { AccessTokenLifetime = TimeSpan.FromMinutes(10) });
        _proxy = await FaultInjectingProxy.StartAsync(_server.Issuer);
        var spec = ClusterSpec.New(await infrastructure.NewDatabaseAsync(), infrastructure.Redis.Configuration, ProviderSettings.Merge(
            ProviderSettings.For("test", _server),
            new()
            {
                ["Broker:Providers:test:TokenEndpoint"] = _proxy.Endpoint(TestAuthorizationServer.TokenPath).AbsoluteUri,
                ["Broker:Providers:test:TokenRequestTimeout"] = "00:00:01",
                // Longer than the test: whatever is held back is held back by the first timeout.
                ["Broker:Providers:test:UnansweredBackoff"] = "00:01:00",
                ["Broker:Families:MinForcedRefreshInterval"] = "00:00:00",
            }));
        _silos = await Task.WhenAll(spec.StartSiloAsync(), spec.StartSiloAsync());
    }

    [Fact]
    public async Task A_refresh_the_provider_leaves_unanswered_holds_back_new_refreshes_on_every_silo()
    {
        var direct = new DirectClient(_server);
        await direct.RegisterAsync();
        string[] subjects = ["stalled-a", "stalled-b"];
        var held = new Dictionary<string, string>();
        foreach (var subject in subjects)
        {
            var tokens = await direct.AuthorizeAsync(subject, "api.read");
            await _silos[0].Client.ImportTokensAsync(new ImportTokensRequest
            {
                Provider = "test",
                Subject = subject,
                AccessToken = tokens.AccessToken,
                RefreshToken = tokens.RefreshToken!,
                AccessTokenExpiresAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddSeconds(tokens.ExpiresIn)),
            });
            held[subject] = tokens.AccessToken;
        }
        var (forwarded, refreshes) = (_proxy.Forwarded, _server.Stats.RefreshTokenGrants);
        _proxy.Inject(new Fault.Hold(_release.Task), "refresh_token");

        // Silo 1: the refresh reaches the proxy and gets no answer within the request timeout (no leeway: outcome unknown).
        await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "REFRESH_OUTCOME_UNKNOWN",
            () => _silos[0].Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "stalled-a", ForceRefresh = true }).ResponseAsync);

        // Silo 2, another family: held back without a request, UNAVAILABLE with a retry delay, as a 503 gives.
        var status = await GrpcAssert.FailsWith(StatusCode.Unavailable, "PROVIDER_UNAVAILABLE",
            () => _silos[1].Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "stalled-b", ForceRefresh = true }).ResponseAsync);
        Assert.InRange(status.GetDetail<RetryInfo>()!.RetryDelay.ToTimeSpan(), TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(1));
        Assert.Contains("unanswered", status.Message, StringComparison.Ordinal);
        Assert.Equal((1, forwarded, refreshes), (_proxy.Faulted, _proxy.Forwarded, _server.Stats.RefreshTokenGrants));

        // Its still-valid token keeps being served, and the family stays active.
        var cached = await _silos[1].Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "stalled-b" });
        TokenAssert.Same(held["stalled-b"], cached.AccessToken_);
        var description = await _silos[1].Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = "stalled-b" });
        Assert.Equal("active", description.Status);
        Assert.NotNull(description.ThrottledUntil);
    }

    public async Task DisposeAsync()
    {
        _release.TrySetResult();
        foreach (var silo in _silos) await silo.DisposeAsync();
        await _proxy.DisposeAsync();
        await _server.DisposeAsync();
    }
}
