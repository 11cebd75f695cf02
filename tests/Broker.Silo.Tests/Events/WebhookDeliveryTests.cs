using Microsoft.Extensions.DependencyInjection;
using Broker.Silo.Tests.Cluster;
using Broker.Testing;
using Broker.Testing.Events;
using Broker.Testing.Hosting;
using Broker.Testing.Processes;

namespace Broker.Silo.Tests.Events;

/// <summary>
/// Webhook delivery from the PostgreSQL outbox, black box: retries while the receiver is down (counted), dead letters
/// that broker-ops lists and replays, and the SSRF rule. Short backoff settings keep each test to seconds.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class WebhookDeliveryTests(ClusterInfrastructure infrastructure)
{
    private static Dictionary<string, string?> Settings(WebhookReceiver hook, bool allowPrivateNetwork, string retryFor)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Broker:Events:Delivery:PollInterval"] = "00:00:00.100",
            ["Broker:Events:Delivery:FirstRetryDelay"] = "00:00:00.200",
            ["Broker:Events:Delivery:MaxRetryDelay"] = "00:00:00.400",
            ["Broker:Events:Delivery:RequestTimeout"] = "00:00:02",
            ["Broker:Events:Delivery:RetryFor"] = retryFor,
        };
        foreach (var (key, value) in FamilyEventsTests.Caller("hooked", ApiKeyHashKey, "*", hook)) settings[key] = value;
        settings["Broker:Callers:hooked:Webhook:AllowPrivateNetwork"] = allowPrivateNetwork ? "true" : "false";
        return settings;
    }

    private static readonly string ApiKeyHashKey = Broker.Silo.Callers.ApiKeyHash.NewKey();

    [Fact]
    public async Task A_receiver_that_was_down_gets_the_event_once_it_is_back_and_the_retries_are_counted()
    {
        await using var hook = await WebhookReceiver.CreateAsync(started: false);
        await using var silo = await (await infrastructure.NewClusterAsync(settings: Settings(hook, allowPrivateNetwork: true, "01:00:00")))();
        using var metrics = MeterCapture.ForSilo(silo.Services);

        await AuthorizationFlow.AuthorizeAsync(silo, "test", "down-then-up", "api.read");
        await Eventually.WaitUntilAsync(() => metrics.Sum("broker.events.retried") >= 3, "three failed attempts while the receiver is down");
        Assert.Empty(hook.Received);
        await hook.StartAsync();

        await Eventually.WaitUntilAsync(() => metrics.Sum("broker.events.delivered") >= 1, "the delivery once the receiver is back");
        var received = Assert.Single(hook.Received);
        Assert.True(received.Verified);
        Assert.Equal(("family.authorized", "down-then-up"), (received.Type, received.Subject));
        Assert.Equal(1, metrics.Sum("broker.events.emitted", ("type", "family.authorized")));
        Assert.Contains(metrics.Measurements, m => m.Instrument == "broker.events.delivery_latency" && m.Value > 0);
        Assert.Equal(0, metrics.Sum("broker.events.dead_lettered"));
    }

    [Fact]
    public async Task A_delivery_given_up_is_a_dead_letter_that_broker_ops_lists_and_replays()
    {
        await using var hook = await WebhookReceiver.CreateAsync(started: false);
        await using var silo = await (await infrastructure.NewClusterAsync(settings: Settings(hook, allowPrivateNetwork: true, "00:00:01")))();
        using var metrics = MeterCapture.ForSilo(silo.Services);

        await AuthorizationFlow.AuthorizeAsync(silo, "test", "dead-letter", "api.read");
        await Eventually.WaitUntilAsync(() => metrics.Sum("broker.events.dead_lettered") >= 1, "the delivery dead-lettered after its retry period");

        var ops = OpsSettings(silo);
        var listed = await OpsTool.RunAsync(ops, "events", "list", "--json");
        Assert.Equal(0, listed.ExitCode);
        var dead = Assert.Single(listed.Json.EnumerateArray());
        Assert.Equal(("family.authorized", "hooked"), (dead.GetProperty("type").GetString(), dead.GetProperty("caller").GetString()));

        await hook.StartAsync();
        var replayed = await OpsTool.RunAsync(ops, "events", "replay", "--id", dead.GetProperty("event_id").GetString()!, "--json");
        Assert.Equal(0, replayed.ExitCode);
        await Eventually.WaitUntilAsync(() => hook.Received.Count > 0, "the replayed delivery");
        var received = Assert.Single(hook.Received);
        Assert.True(received.Verified);
        Assert.Equal(dead.GetProperty("event_id").GetString(), received.Id);
        Assert.Empty((await OpsTool.RunAsync(ops, "events", "list", "--json")).Json.EnumerateArray());
    }

    [Fact]
    public async Task A_webhook_that_resolves_to_a_private_address_is_refused_unless_the_caller_allows_it()
    {
        await using var hook = await WebhookReceiver.CreateAsync();
        await using var silo = await (await infrastructure.NewClusterAsync(settings: Settings(hook, allowPrivateNetwork: false, "00:00:01")))();
        using var metrics = MeterCapture.ForSilo(silo.Services);

        await AuthorizationFlow.AuthorizeAsync(silo, "test", "ssrf", "api.read");
        await Eventually.WaitUntilAsync(() => metrics.Sum("broker.events.dead_lettered") >= 1, "the refused delivery dead-lettered");

        Assert.Empty(hook.Received);
        var dead = Assert.Single((await OpsTool.RunAsync(OpsSettings(silo), "events", "list", "--json")).Json.EnumerateArray());
        Assert.Contains("private", dead.GetProperty("last_error").GetString(), StringComparison.Ordinal);
    }

    private static Dictionary<string, string?> OpsSettings(BrokerSilo silo)
    {
        var cluster = silo.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Broker.Silo.Hosting.ClusterModeOptions>>().Value;
        return new Dictionary<string, string?>
        {
            ["Broker:Cluster:Redis"] = cluster.Redis,
            ["Broker:Cluster:PostgreSql"] = cluster.PostgreSql,
            ["Broker:Cluster:ClusterId"] = cluster.ClusterId,
            ["Broker:Cluster:ServiceId"] = cluster.ServiceId,
        };
    }
}
