using System.Diagnostics;
using Broker.V1;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Client.Tests.Grpc;

/// <summary>
/// README (client library): UNAVAILABLE is retried for the methods the proto marks idempotent only (MaxAttempts),
/// each call has a deadline, and a RetryInfo reaches the caller as <see cref="BrokerClientException.RetryAfter"/>.
/// The broker is replaced by <see cref="GrpcFaultInjector"/>, which answers as each test scripts.
/// </summary>
public sealed class ClientFaultHandlingTests
{
    private const int MaxAttempts = 4;

    private static AccessToken Token() => new()
    {
        AccessToken_ = "injected-access-token",
        TokenType = "Bearer",
        ExpiresAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(10)),
    };

    private static ServiceProvider ClientOf(GrpcFaultInjector injector, TimeSpan? deadline = null)
    {
        var services = new ServiceCollection();
        services.AddBrokerClient(o =>
        {
            o.Address = injector.Address;
            o.ApiKey = "fault-injection-key";
            o.MaxAttempts = MaxAttempts;
            if (deadline is { } d) o.Deadline = d;
        });
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task An_unavailable_idempotent_read_is_retried_and_its_later_success_is_returned()
    {
        await using var injector = await GrpcFaultInjector.StartAsync((_, attempt, context) => attempt < MaxAttempts
            ? GrpcFaultInjector.Fail(context, StatusCode.Unavailable)
            : GrpcFaultInjector.Succeed(context, Token()));
        await using var services = ClientOf(injector);

        var token = await services.GetRequiredService<BrokerClient>().GetAccessTokenAsync("test", "alice");

        Assert.Equal("injected-access-token", token.AccessToken);
        Assert.Equal(MaxAttempts, injector.AttemptsOf("GetAccessToken"));
    }

    [Fact]
    public async Task An_idempotent_read_that_stays_unavailable_is_sent_max_attempts_times_then_fails_typed()
    {
        await using var injector = await GrpcFaultInjector.StartAsync((_, _, context) => GrpcFaultInjector.Fail(context, StatusCode.Unavailable,
            GrpcFaultInjector.Reason(BrokerReasons.ProviderUnavailable)));
        await using var services = ClientOf(injector);
        var client = services.GetRequiredService<BrokerClient>();

        var user = await Assert.ThrowsAsync<BrokerClientException>(() => client.GetAccessTokenAsync("test", "alice"));
        var service = await Assert.ThrowsAsync<BrokerClientException>(() => client.GetClientTokenAsync("test", ["api.read"]));

        Assert.Equal(StatusCode.Unavailable, user.Status);
        Assert.Equal(BrokerReasons.ProviderUnavailable, user.Reason);
        Assert.Equal(StatusCode.Unavailable, service.Status);
        Assert.Equal(MaxAttempts, injector.AttemptsOf("GetAccessToken"));
        Assert.Equal(MaxAttempts, injector.AttemptsOf("GetClientToken"));
    }

    [Fact]
    public async Task An_unavailable_begin_authorization_is_sent_once_because_it_is_not_idempotent()
    {
        await using var injector = await GrpcFaultInjector.StartAsync((_, _, context) => GrpcFaultInjector.Fail(context, StatusCode.Unavailable));
        await using var services = ClientOf(injector);

        var ex = await Assert.ThrowsAsync<BrokerClientException>(
            () => services.GetRequiredService<BrokerClient>().BeginAuthorizationAsync("test", "alice", ["api.read"]));

        Assert.Equal(StatusCode.Unavailable, ex.Status);
        Assert.Equal(1, injector.AttemptsOf("BeginAuthorization"));
    }

    [Fact]
    public async Task A_refusal_other_than_unavailable_is_not_retried_even_for_a_read()
    {
        await using var injector = await GrpcFaultInjector.StartAsync((_, _, context) => GrpcFaultInjector.Fail(context, StatusCode.FailedPrecondition,
            GrpcFaultInjector.Reason(BrokerReasons.ReauthorizationRequired)));
        await using var services = ClientOf(injector);

        var ex = await Assert.ThrowsAsync<BrokerClientException>(() => services.GetRequiredService<BrokerClient>().GetAccessTokenAsync("test", "alice"));

        Assert.True(ex.NeedsAuthorization);
        Assert.Equal(1, injector.AttemptsOf("GetAccessToken"));
    }

    [Fact]
    public async Task A_call_the_broker_never_answers_fails_with_deadline_exceeded_after_about_the_configured_deadline()
    {
        var deadline = TimeSpan.FromSeconds(1);
        await using var injector = await GrpcFaultInjector.StartAsync((_, _, context) => GrpcFaultInjector.Hang(context));
        await using var services = ClientOf(injector, deadline);
        var client = services.GetRequiredService<BrokerClient>();

        var clock = Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<BrokerClientException>(() => client.GetAccessTokenAsync("test", "alice"));
        clock.Stop();

        Assert.Equal(StatusCode.DeadlineExceeded, ex.Status);
        // Generous: not before the deadline (less timer slack), and far below the 10 s default or a hang.
        Assert.InRange(clock.Elapsed, deadline - TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(8));
    }

    [Fact]
    public async Task A_throttled_answer_hands_its_retry_info_delay_to_the_caller_as_retry_after()
    {
        var delay = TimeSpan.FromSeconds(7.5);
        await using var injector = await GrpcFaultInjector.StartAsync((_, _, context) => GrpcFaultInjector.Fail(context, StatusCode.ResourceExhausted,
            GrpcFaultInjector.Reason(BrokerReasons.Throttled), GrpcFaultInjector.RetryAfter(delay)));
        await using var services = ClientOf(injector);

        var ex = await Assert.ThrowsAsync<BrokerClientException>(() => services.GetRequiredService<BrokerClient>().GetAccessTokenAsync("test", "alice"));

        Assert.Equal(StatusCode.ResourceExhausted, ex.Status);
        Assert.Equal(BrokerReasons.Throttled, ex.Reason);
        Assert.Equal(delay, ex.RetryAfter);
        Assert.Equal(1, injector.AttemptsOf("GetAccessToken"));
    }

    [Fact]
    public async Task An_unavailable_answer_with_retry_info_keeps_the_delay_after_the_retries_are_spent()
    {
        var delay = TimeSpan.FromSeconds(3);
        await using var injector = await GrpcFaultInjector.StartAsync((_, _, context) => GrpcFaultInjector.Fail(context, StatusCode.Unavailable,
            GrpcFaultInjector.Reason(BrokerReasons.ProviderUnavailable), GrpcFaultInjector.RetryAfter(delay)));
        await using var services = ClientOf(injector);

        var ex = await Assert.ThrowsAsync<BrokerClientException>(() => services.GetRequiredService<BrokerClient>().GetClientTokenAsync("test", ["api.read"]));

        Assert.Equal(delay, ex.RetryAfter);
        Assert.Equal(MaxAttempts, injector.AttemptsOf("GetClientToken"));
    }

    [Fact]
    public async Task A_failure_without_retry_info_has_no_retry_after()
    {
        await using var injector = await GrpcFaultInjector.StartAsync((_, _, context) => GrpcFaultInjector.Fail(context, StatusCode.PermissionDenied,
            GrpcFaultInjector.Reason(BrokerReasons.PermissionDenied)));
        await using var services = ClientOf(injector);

        var ex = await Assert.ThrowsAsync<BrokerClientException>(() => services.GetRequiredService<BrokerClient>().GetAccessTokenAsync("test", "alice"));

        Assert.Equal(BrokerReasons.PermissionDenied, ex.Reason);
        Assert.Null(ex.RetryAfter);
    }
}
