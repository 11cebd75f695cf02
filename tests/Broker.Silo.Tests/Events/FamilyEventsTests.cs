using Broker.Client;
using Broker.Silo.Tests.Cluster;
using Broker.Testing;
using Broker.Testing.Events;
using Broker.Testing.Hosting;
using Broker.V1;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Broker.Silo.Tests.Events;

/// <summary>
/// Issue 15, black box on a cluster-mode silo (PostgreSQL outbox): a family revoked at the OpenIddict test server fails
/// its next refresh, and the event reaches a WatchEvents stream and a signed webhook exactly once; a caller whose
/// policy does not cover the subject sees it on neither path.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class FamilyEventsTests(ClusterInfrastructure infrastructure) : IAsyncLifetime
{
    private static readonly string WatcherKey = Broker.Silo.Callers.ApiKeyHash.NewKey();
    private static readonly string OutsiderKey = Broker.Silo.Callers.ApiKeyHash.NewKey();
    private WebhookReceiver _watcherHook = null!;
    private WebhookReceiver _outsiderHook = null!;
    private BrokerSilo _silo = null!;

    public async Task InitializeAsync()
    {
        _watcherHook = await WebhookReceiver.CreateAsync();
        _outsiderHook = await WebhookReceiver.CreateAsync();
        var settings = new Dictionary<string, string?>
        {
            ["Broker:Events:Delivery:PollInterval"] = "00:00:00.200",
            ["Broker:Events:Delivery:WatchPollInterval"] = "00:00:00.200",
        };
        foreach (var (key, value) in Caller("watcher", WatcherKey, "user-*", _watcherHook)) settings[key] = value;
        foreach (var (key, value) in Caller("outsider", OutsiderKey, "other-*", _outsiderHook)) settings[key] = value;
        _silo = await (await infrastructure.NewClusterAsync(settings: settings))();
    }

    internal static Dictionary<string, string?> Caller(string name, string apiKey, string subjects, WebhookReceiver hook) =>
        TestCallers.WithApiKey(name, apiKey, new Dictionary<string, string>
        {
            ["Providers:0"] = "*",
            ["Subjects:0"] = subjects,
            ["Scopes:0"] = "*",
            ["Webhook:Url"] = hook.Url.AbsoluteUri,
            ["Webhook:Secret"] = hook.Secret,
            // The receiver is on loopback: allowed for this caller only.
            ["Webhook:AllowPrivateNetwork"] = "true",
            ["MayBeginAuthorization"] = "true",
            ["ReturnUrls:0"] = TestCallers.ReturnUrl.AbsoluteUri,
        });

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        await _watcherHook.DisposeAsync();
        await _outsiderHook.DisposeAsync();
    }

    [Fact]
    public async Task A_family_revoked_at_the_provider_is_reported_once_on_the_stream_and_the_webhook_and_never_to_a_caller_it_does_not_cover()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var client = new BrokerClient(new TokenBroker.TokenBrokerClient(_silo.Channel.WithBearer(WatcherKey)),
            Options.Create(new BrokerClientOptions { Address = new Uri($"http://127.0.0.1:{_silo.GrpcPort}") }));
        var watched = new List<Broker.Client.BrokerEvent>();
        var watching = Task.Run(async () =>
        {
            await foreach (var e in client.WatchEventsAsync(cancellationToken: stop.Token)) lock (watched) watched.Add(e);
        });
        var outsider = new TokenBroker.TokenBrokerClient(_silo.Channel.WithBearer(OutsiderKey));
        var outsiderSaw = new List<BrokerEventMessage>();
        var outsiderWatching = Task.Run(async () =>
        {
            using var call = outsider.WatchEvents(new WatchEventsRequest(), cancellationToken: stop.Token);
            await foreach (var e in call.ResponseStream.ReadAllAsync(stop.Token)) lock (outsiderSaw) outsiderSaw.Add(e);
        });

        await AuthorizeAsync("user-1", login: "events-user-1");
        await infrastructure.Server.RevokeGrantsOfAsync("events-user-1");
        await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "REAUTHORIZATION_REQUIRED", () =>
            _silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "user-1", ForceRefresh = true }).ResponseAsync);
        // A later event of the same family marks the end of what the failure could have produced.
        await _silo.Client.RevokeFamilyAsync(new RevokeFamilyRequest { Provider = "test", Subject = "user-1" });

        await Eventually.WaitUntilAsync(() => Types(watched).Contains("family.revoked"), "family.revoked on the stream");
        await Eventually.WaitUntilAsync(() => _watcherHook.Received.Any(r => r.Type == "family.revoked"), "family.revoked at the webhook");

        Broker.Client.BrokerEvent[] seen;
        lock (watched) seen = [.. watched];
        Assert.Equal(["family.authorized", "family.reauthorization_required", "family.revoked"], seen.Select(e => e.Type));
        var failure = seen[1];
        Assert.Equal(("test", "user-1", "tests", "reauthorization_required"), (failure.Provider, failure.Subject, failure.Owner, failure.Status));
        Assert.Equal("invalid_grant_possible_theft", failure.Reason);
        Assert.Contains("api.read", failure.Scopes);
        Assert.True(seen[0].Cursor < seen[1].Cursor && seen[1].Cursor < seen[2].Cursor);

        var hooks = _watcherHook.Received.ToList();
        Assert.All(hooks, h => Assert.True(h.Verified, "every delivery carries a signature the StandardWebhooks library accepts"));
        Assert.Equal(["family.authorized", "family.reauthorization_required", "family.revoked"], hooks.Select(h => h.Type));
        Assert.Equal(seen.Select(e => e.Id), hooks.Select(h => h.Id));
        Assert.Equal("invalid_grant_possible_theft", hooks[1].Data.GetProperty("reason").GetString());

        // The outsider's own family goes out after all of the above: once it has arrived, nothing of user-1 can still come.
        await AuthorizeAsync("other-1", login: "events-other-1");
        await Eventually.WaitUntilAsync(() => { lock (outsiderSaw) return outsiderSaw.Any(e => e.Subject == "other-1"); }, "other-1 on the outsider's stream");
        await Eventually.WaitUntilAsync(() => _outsiderHook.Received.Any(r => r.Subject == "other-1"), "other-1 at the outsider's webhook");
        lock (outsiderSaw) Assert.All(outsiderSaw, e => Assert.Equal("other-1", e.Subject));
        Assert.All(_outsiderHook.Received, r => Assert.Equal("other-1", r.Subject));

        await stop.CancelAsync();
        await Task.WhenAll(watching, outsiderWatching).ContinueWith(_ => { });
    }

    [Fact]
    public async Task Re_consent_keeps_the_family_and_its_owner_and_emits_family_recovered()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var watcher = new TokenBroker.TokenBrokerClient(_silo.Channel.WithBearer(WatcherKey));
        var seen = new List<BrokerEventMessage>();
        var watching = Task.Run(async () =>
        {
            using var call = watcher.WatchEvents(new WatchEventsRequest { Subjects = { "user-2" } }, cancellationToken: stop.Token);
            await foreach (var e in call.ResponseStream.ReadAllAsync(stop.Token)) lock (seen) seen.Add(e);
        });
        await AuthorizeAsync("user-2", login: "events-user-2");
        await infrastructure.Server.RevokeGrantsOfAsync("events-user-2");
        await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "REAUTHORIZATION_REQUIRED", () =>
            _silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "user-2", ForceRefresh = true }).ResponseAsync);
        await Eventually.WaitUntilAsync(() => { lock (seen) return seen.Any(e => e.Type == "family.reauthorization_required"); }, "the failure on the stream");

        // The event says what re-consent needs: provider, subject, reason, the scopes last granted. Another service starts it.
        BrokerEventMessage failure;
        lock (seen) failure = seen.Single(e => e.Type == "family.reauthorization_required");
        await AuthorizeAsync(failure.Subject, login: "events-user-2", [.. failure.Scopes.Where(s => s != "offline_access")], watcher);

        await Eventually.WaitUntilAsync(() => { lock (seen) return seen.Any(e => e.Type == "family.recovered"); }, "family.recovered on the stream");
        lock (seen)
        {
            Assert.Equal(["family.authorized", "family.reauthorization_required", "family.recovered"], seen.Select(e => e.Type));
            var recovered = seen[2];
            Assert.Equal(("tests", "active"), (recovered.Owner, recovered.Status));
        }
        var described = await _silo.Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = "user-2" });
        Assert.Equal("active", described.Status);
        Assert.Equal("cache", (await _silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "user-2" })).Source);
        await stop.CancelAsync();
        await watching.ContinueWith(_ => { });
    }

    private async Task AuthorizeAsync(string subject, string login, string[]? scopes = null, TokenBroker.TokenBrokerClient? caller = null)
    {
        var redirect = await AuthorizationFlow.ObtainRedirectAsync(_silo, "test", subject, scopes ?? ["api.read"], AuthorizationFlow.LoginAs(login),
            returnUrl: TestCallers.ReturnUrl, caller: caller);
        using var response = await AuthorizationFlow.DeliverAsync(_silo, redirect);
        var completion = AuthorizationFlow.CompletionOf(response) ?? throw new InvalidOperationException($"callback answered {(int)response.StatusCode}");
        await (caller ?? _silo.Client).CompleteAuthorizationAsync(new CompleteAuthorizationRequest { Provider = "test", Subject = subject, Completion = completion });
    }

    private static List<string> Types(List<Broker.Client.BrokerEvent> events)
    {
        lock (events) return [.. events.Select(e => e.Type)];
    }
}
