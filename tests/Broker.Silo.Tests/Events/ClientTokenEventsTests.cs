using Broker.Silo.Tests.Cluster;
using Broker.Testing;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Events;
using Broker.Testing.Hosting;
using Broker.V1;
using Grpc.Core;

namespace Broker.Silo.Tests.Events;

/// <summary>
/// Issue 15, client tokens, black box on a cluster-mode silo: the client's secret rotated at an OpenIddict test server
/// makes its client-credentials requests fail (invalid_client, a refusal the resilience handler does not retry away),
/// which is client_token.failed; the secret set back makes the next request succeed, which is client_token.recovered.
/// Both reach the stream and the signed webhook once; the owner is the caller that first asked for the token.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ClientTokenEventsTests(ClusterInfrastructure infrastructure) : IAsyncLifetime
{
    private const string ServerSecret = "broker-test-secret";
    private static readonly string WatcherKey = Broker.Silo.Callers.ApiKeyHash.NewKey();
    private TestAuthorizationServer _server = null!;
    private WebhookReceiver _hook = null!;
    private BrokerSilo _silo = null!;

    public async Task InitializeAsync()
    {
        // A server of its own, its secret rotated without touching the shared one; short-lived tokens, so calls go to it.
        _server = await TestAuthorizationServer.StartAsync(new TestAuthorizationServerOptions { AccessTokenLifetime = TimeSpan.FromSeconds(2) });
        _hook = await WebhookReceiver.CreateAsync();
        var settings = ProviderSettings.For("rotating", _server);
        settings["Broker:Events:Delivery:PollInterval"] = "00:00:00.200";
        settings["Broker:Events:Delivery:WatchPollInterval"] = "00:00:00.200";
        foreach (var (key, value) in FamilyEventsTests.Caller("watcher", WatcherKey, "user-*", _hook)) settings[key] = value;
        settings["Broker:Callers:watcher:MayGetClientTokens"] = "true";
        _silo = await (await infrastructure.NewClusterAsync(settings: settings))();
    }

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        await _hook.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task A_client_refused_at_the_provider_reports_client_token_failed_then_recovered_to_the_caller_that_first_asked()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var watcher = new TokenBroker.TokenBrokerClient(_silo.Channel.WithBearer(WatcherKey));
        var seen = new List<BrokerEventMessage>();
        var watching = Task.Run(async () =>
        {
            using var call = watcher.WatchEvents(new WatchEventsRequest(), cancellationToken: stop.Token);
            await foreach (var e in call.ResponseStream.ReadAllAsync(stop.Token)) lock (seen) seen.Add(e);
        });
        var request = new GetClientTokenRequest { Provider = "rotating", Scopes = { "api.read" }, MinTtlSeconds = 3600 };

        await watcher.GetClientTokenAsync(request);
        await _silo.Client.GetClientTokenAsync(request);
        await _server.SetClientSecretAsync("broker", "rotated-" + Guid.NewGuid().ToString("N"));
        // Served from the cache until past half its lifetime, then asked for again and refused.
        await Eventually.WaitUntilAsync(async () => await RefusedAsync(_silo.Client, request), "the rotated secret refused");
        await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "PROVIDER_REJECTED", () => watcher.GetClientTokenAsync(request).ResponseAsync);
        await _server.SetClientSecretAsync("broker", ServerSecret);
        await _silo.Client.GetClientTokenAsync(request);
        await _silo.Client.GetClientTokenAsync(request);

        await Eventually.WaitUntilAsync(() => { lock (seen) return seen.Any(e => e.Type == "client_token.recovered"); }, "client_token.recovered on the stream");
        await Eventually.WaitUntilAsync(() => _hook.Received.Any(r => r.Type == "client_token.recovered"), "client_token.recovered at the webhook");

        BrokerEventMessage[] events;
        lock (seen) events = [.. seen];
        Assert.Equal(["client_token.failed", "client_token.recovered"], events.Select(e => e.Type));
        var failed = events[0];
        Assert.Equal(("rotating", "", "watcher", "failed", "invalid_client"), (failed.Provider, failed.Subject, failed.Owner, failed.Status, failed.Reason));
        Assert.Contains("api.read", failed.Scopes);
        Assert.Equal(("watcher", "active", 0u), (events[1].Owner, events[1].Status, events[1].Suppressed));

        var hooks = _hook.Received.ToList();
        Assert.All(hooks, h => Assert.True(h.Verified, "every delivery carries a signature the StandardWebhooks library accepts"));
        Assert.Equal(events.Select(e => e.Id), hooks.Select(h => h.Id));
        Assert.Equal("invalid_client", hooks[0].Data.GetProperty("reason").GetString());

        await stop.CancelAsync();
        await watching.ContinueWith(_ => { });
    }

    private static async Task<bool> RefusedAsync(TokenBroker.TokenBrokerClient client, GetClientTokenRequest request)
    {
        try
        {
            await client.GetClientTokenAsync(request);
            return false;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.FailedPrecondition)
        {
            return true;
        }
    }
}
