using System.Net;
using Broker.Testing.Hosting;
using Broker.V1;

namespace Broker.Silo.Tests.Callback;

/// <summary>A broker whose pending authorizations live one second, so a test can let one expire.</summary>
public sealed class ShortPendingLifetimeBroker : EmbeddedBroker
{
    public static readonly TimeSpan PendingLifetime = TimeSpan.FromSeconds(1);

    protected override Dictionary<string, string?> ExtraSettings => new()
    {
        ["Broker:Authorizations:PendingLifetime"] = "00:00:01",
    };
}

/// <summary>
/// The callback's promises in the README (Hostile input): an expired state is refused, a parameter over the size
/// limit is refused with 400.
/// </summary>
public sealed class CallbackPromisesTests(ShortPendingLifetimeBroker broker) : IClassFixture<ShortPendingLifetimeBroker>
{
    private const int MaxParameterLength = Broker.OAuth.Authorization.AuthorizationResponseValidator.MaxParameterLength;

    private async Task AssertNothingStored(string subject, int codeGrantsBefore)
    {
        var description = await broker.Silo.Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = subject });
        Assert.Equal("none", description.Status);
        Assert.Equal(codeGrantsBefore, broker.Server.Stats.AuthorizationCodeGrants);
    }

    private static async Task AssertRefused(HttpResponseMessage response, string reason)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains($"Reason: {reason}.", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_response_arriving_after_the_pending_lifetime_is_refused_as_invalid_state_and_stores_nothing()
    {
        var grants = broker.Server.Stats.AuthorizationCodeGrants;
        var redirect = await AuthorizationFlow.ObtainRedirectAsync(broker.Silo, "test", "cb-expired", []);

        // Bounded: well past the one-second lifetime (and the grain's forget timer at lifetime + 1 s).
        await Task.Delay(ShortPendingLifetimeBroker.PendingLifetime + TimeSpan.FromSeconds(1.5));
        using var response = await AuthorizationFlow.DeliverAsync(broker.Silo, redirect);

        await AssertRefused(response, "INVALID_STATE");
        await AssertNothingStored("cb-expired", grants);
    }

    // Not iss: an oversized iss is also a wrong iss, refused with the same reason without any size check.
    [Theory]
    [InlineData("code")]
    [InlineData("error")]
    [InlineData("error_description")]
    public async Task A_parameter_longer_than_the_limit_is_refused_with_400_and_stores_nothing(string parameter)
    {
        var subject = $"cb-long-{parameter}";
        var grants = broker.Server.Stats.AuthorizationCodeGrants;
        var redirect = await AuthorizationFlow.ObtainRedirectAsync(broker.Silo, "test", subject, []);

        using var response = await AuthorizationFlow.DeliverAsync(broker.Silo,
            AuthorizationFlow.WithParameter(redirect, parameter, new string('a', MaxParameterLength + 1)));

        await AssertRefused(response, "INVALID_AUTHORIZATION_RESPONSE");
        await AssertNothingStored(subject, grants);
    }

    [Fact]
    public async Task A_state_longer_than_the_limit_is_refused_with_400_before_any_grain_is_asked()
    {
        var grants = broker.Server.Stats.AuthorizationCodeGrants;
        var redirect = await AuthorizationFlow.ObtainRedirectAsync(broker.Silo, "test", "cb-long-state", []);

        using var response = await AuthorizationFlow.DeliverAsync(broker.Silo,
            AuthorizationFlow.WithParameter(redirect, "state", new string('s', MaxParameterLength + 1)));

        await AssertRefused(response, "INVALID_AUTHORIZATION_RESPONSE");
        await AssertNothingStored("cb-long-state", grants);
    }

    [Fact]
    public async Task A_parameter_at_the_limit_is_not_refused_for_its_size()
    {
        // The boundary: exactly the limit passes the size check and fails later, on the unknown state.
        var redirect = await AuthorizationFlow.ObtainRedirectAsync(broker.Silo, "test", "cb-at-limit", []);

        using var response = await AuthorizationFlow.DeliverAsync(broker.Silo,
            AuthorizationFlow.WithParameter(redirect, "state", new string('s', MaxParameterLength)));

        await AssertRefused(response, "INVALID_STATE");
    }
}

/// <summary>
/// The callback page's headers (README, Hostile input): its URL holds the code, so it must not leak through a
/// Referer. Default pending lifetime here: a success page must not depend on how fast a loaded machine is.
/// </summary>
public sealed class CallbackPageHeadersTests(EmbeddedBroker broker) : IClassFixture<EmbeddedBroker>
{
    [Fact]
    public async Task The_success_page_and_the_refusal_page_both_carry_referrer_policy_no_referrer()
    {
        var redirect = await AuthorizationFlow.ObtainRedirectAsync(broker.Silo, "test", "cb-referrer", []);
        using var success = await AuthorizationFlow.DeliverAsync(broker.Silo, redirect);
        using var refusal = await AuthorizationFlow.DeliverAsync(broker.Silo, redirect); // the state is used now

        Assert.Equal(HttpStatusCode.OK, success.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, refusal.StatusCode);
        Assert.Equal("no-referrer", Assert.Single(success.Headers.GetValues("Referrer-Policy")));
        Assert.Equal("no-referrer", Assert.Single(refusal.Headers.GetValues("Referrer-Policy")));
    }

    [Fact]
    public async Task The_callback_page_over_plain_http_carries_no_hsts()
    {
        // RFC 6797 §7.2: HSTS must not be sent over plain HTTP; the silo's HTTP listener is plain in tests.
        var redirect = await AuthorizationFlow.ObtainRedirectAsync(broker.Silo, "test", "cb-plain", []);
        using var response = await AuthorizationFlow.DeliverAsync(broker.Silo, redirect);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.Headers.Contains("Strict-Transport-Security"));
    }
}
