using System.Net.Sockets;
using Broker.OAuth.Tokens;
using Polly.CircuitBreaker;

namespace Broker.OAuth.Tests.Tokens;

/// <summary>Which failures may have reached the server decides whether a refresh token may be spent.</summary>
public sealed class TokenEndpointOutcomeTests
{
    [Fact]
    public void Connection_that_was_never_made_is_not_sent()
    {
        var outcome = TokenEndpointClient.Classify(new HttpRequestException(HttpRequestError.ConnectionError, "refused", new SocketException()));
        Assert.True(Assert.IsType<TokenEndpointOutcome.NotSent>(outcome).Unreachable, "a refused connection is the provider unreachable");
    }

    [Fact]
    public void Open_circuit_is_not_sent_and_says_nothing_of_the_provider()
    {
        Assert.False(Assert.IsType<TokenEndpointOutcome.NotSent>(TokenEndpointClient.Classify(new BrokenCircuitException())).Unreachable);
        Assert.False(Assert.IsType<TokenEndpointOutcome.NotSent>(TokenEndpointClient.Classify(new Polly.RateLimiting.RateLimiterRejectedException())).Unreachable);
    }

    [Fact]
    public void Name_resolution_failure_is_not_sent()
    {
        Assert.IsType<TokenEndpointOutcome.NotSent>(TokenEndpointClient.Classify(new HttpRequestException(HttpRequestError.NameResolutionError)));
    }

    [Theory]
    [InlineData(HttpRequestError.ResponseEnded)]
    [InlineData(HttpRequestError.InvalidResponse)]
    [InlineData(HttpRequestError.Unknown)]
    public void Failure_after_the_connection_was_made_is_unknown(HttpRequestError error)
    {
        Assert.IsType<TokenEndpointOutcome.OutcomeUnknown>(TokenEndpointClient.Classify(new HttpRequestException(error)));
    }

    [Fact]
    public void Timeout_is_unknown()
    {
        Assert.IsType<TokenEndpointOutcome.OutcomeUnknown>(TokenEndpointClient.Classify(new TaskCanceledException()));
        Assert.IsType<TokenEndpointOutcome.OutcomeUnknown>(TokenEndpointClient.Classify(new Polly.Timeout.TimeoutRejectedException()));
    }

    [Fact]
    public void A_timeout_or_a_connection_lost_after_sending_is_unanswered_but_an_answer_refused_unread_is_not()
    {
        // Unanswered holds back the client's new requests on every silo (UnansweredRequestBackoff): only for no answer at all.
        Assert.True(Assert.IsType<TokenEndpointOutcome.OutcomeUnknown>(TokenEndpointClient.Classify(new Polly.Timeout.TimeoutRejectedException())).Unanswered);
        Assert.True(Assert.IsType<TokenEndpointOutcome.OutcomeUnknown>(TokenEndpointClient.Classify(new HttpRequestException(HttpRequestError.ResponseEnded))).Unanswered);
        Assert.False(Assert.IsType<TokenEndpointOutcome.OutcomeUnknown>(
            TokenEndpointClient.Classify(new HttpRequestException(HttpRequestError.ConfigurationLimitExceeded))).Unanswered);
    }
}
