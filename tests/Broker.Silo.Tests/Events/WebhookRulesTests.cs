using System.Net;
using Broker.Silo.Callers;
using Broker.Silo.Events;

namespace Broker.Silo.Tests.Events;

/// <summary>The plain rules of webhook delivery: target settings, the SSRF address rule, the retry schedule and the delivery settings.</summary>
public sealed class WebhookRulesTests
{
    private static readonly string Secret = "whsec_" + Convert.ToBase64String(new byte[32]);

    [Theory]
    [InlineData("https://hooks.example.com/broker", null)]
    [InlineData("http://127.0.0.1:8080/hooks", null)]
    [InlineData("http://hooks.example.com/broker", "Url must use https (loopback is exempt).")]
    [InlineData("ftp://hooks.example.com/broker", "Url must be an absolute https URL.")]
    [InlineData("/relative", "Url must be an absolute https URL.")]
    public void A_webhook_url_is_https_unless_on_loopback(string url, string? problem)
    {
        var problems = WebhookTarget.Problems(new WebhookOptions { Url = url, Secret = Secret }).ToList();
        if (problem is null) Assert.Empty(problems);
        else Assert.Equal([problem], problems);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("plain-secret")]
    [InlineData("whsec_not base64!")]
    [InlineData("whsec_AAAA")]
    public void A_webhook_secret_is_whsec_and_enough_random_bytes(string? secret)
    {
        var problem = Assert.Single(WebhookTarget.Problems(new WebhookOptions { Url = "https://hooks.example.com/", Secret = secret }));
        Assert.StartsWith("Secret must be whsec_", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_wrong_webhook_setting_is_named_at_start()
    {
        var callers = new Dictionary<string, CallerOptions>
        {
            ["billing"] = new() { ApiKeyHashes = [ApiKeyHash.Format(ApiKeyHash.NewKey())], Providers = ["*"], Webhook = new() { Url = "http://hooks.example.com/", Secret = Secret } },
        };
        var failure = Assert.Single(CallerOptionsValidator.Validate(callers, new CallerAuthenticationOptions()));
        Assert.Equal("Broker:Callers:billing:Webhook:Url must use https (loopback is exempt).", failure);
    }

    [Theory]
    [InlineData("10.1.2.3", true)]
    [InlineData("172.16.0.1", true)]
    [InlineData("172.31.255.255", true)]
    [InlineData("192.168.1.1", true)]
    [InlineData("169.254.169.254", true)]
    [InlineData("127.0.0.1", true)]
    [InlineData("100.64.0.1", true)]
    [InlineData("0.0.0.0", true)]
    [InlineData("::1", true)]
    [InlineData("fe80::1", true)]
    [InlineData("fd00::1", true)]
    [InlineData("::ffff:10.0.0.1", true)]
    [InlineData("172.32.0.1", false)]
    [InlineData("8.8.8.8", false)]
    [InlineData("2001:4860:4860::8888", false)]
    public void Private_loopback_and_link_local_addresses_are_refused(string address, bool refused) =>
        Assert.Equal(refused, WebhookTarget.IsPrivate(IPAddress.Parse(address)));

    [Fact]
    public void Retries_back_off_exponentially_with_jitter_up_to_the_cap_and_end_as_a_dead_letter()
    {
        var options = new EventDeliveryOptions { FirstRetryDelay = TimeSpan.FromSeconds(5), MaxRetryDelay = TimeSpan.FromMinutes(1), RetryFor = TimeSpan.FromHours(25) };
        var time = new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

        Assert.Equal(time + TimeSpan.FromSeconds(5), RetrySchedule.Next(1, time, time, options, draw: 0.999999)!.Value, TimeSpan.FromMilliseconds(1));
        Assert.Equal(time + TimeSpan.FromSeconds(2.5), RetrySchedule.Next(1, time, time, options, draw: 0));
        Assert.Equal(time + TimeSpan.FromSeconds(20), RetrySchedule.Next(3, time, time, options, draw: 0.999999)!.Value, TimeSpan.FromMilliseconds(1));
        Assert.Equal(time + TimeSpan.FromMinutes(1), RetrySchedule.Next(30, time, time, options, draw: 0.999999)!.Value, TimeSpan.FromMilliseconds(1));

        // The last try lands at the end of the period, never past it; after it, a dead letter.
        var late = time + TimeSpan.FromHours(25) - TimeSpan.FromSeconds(10);
        Assert.Equal(time + TimeSpan.FromHours(25), RetrySchedule.Next(100, time, late, options, draw: 0.5));
        Assert.Null(RetrySchedule.Next(101, time, time + TimeSpan.FromHours(25), options, draw: 0.5));
    }

    [Fact]
    public void A_request_that_outlasts_its_lease_is_refused_at_start()
    {
        var result = new EventDeliveryOptionsValidator().Validate(null,
            new EventDeliveryOptions { Lease = TimeSpan.FromSeconds(10), RequestTimeout = TimeSpan.FromSeconds(10) });
        Assert.Contains("Broker:Events:Delivery:RequestTimeout must be shorter than Broker:Events:Delivery:Lease", Assert.Single(result.Failures!), StringComparison.Ordinal);
    }
}
