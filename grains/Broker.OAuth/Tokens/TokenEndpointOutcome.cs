using Broker.Abstractions.Tokens;

namespace Broker.OAuth.Tokens;

/// <summary>
/// What happened to one token request. The split that matters is between <see cref="NotSent"/> (the server
/// never saw it: safe to try again) and <see cref="OutcomeUnknown"/> (it may have been processed: a refresh
/// token may already be spent).
/// </summary>
public abstract record TokenEndpointOutcome
{
    private TokenEndpointOutcome() { }

    /// <summary>The server issued tokens (RFC 6749 §5.1).</summary>
    public sealed record Issued(TokenSet Tokens) : TokenEndpointOutcome;

    /// <summary>The server answered with an OAuth error (RFC 6749 §5.2), e.g. invalid_grant.</summary>
    public sealed record Rejected(string Error, int HttpStatus) : TokenEndpointOutcome;

    /// <summary>
    /// The server answered 400, 401 or 403 without an OAuth error body. It answered, so nothing is unknown: a
    /// definite refusal, as <see cref="Rejected"/> but without its error code.
    /// </summary>
    public sealed record Refused(int HttpStatus) : TokenEndpointOutcome;

    /// <summary>The server asked us to slow down (429 or 503); it did not process the request.</summary>
    public sealed record Throttled(TimeSpan RetryAfter, int HttpStatus) : TokenEndpointOutcome;

    /// <summary>The request certainly never reached the server (no connection, circuit open).</summary>
    /// <remarks>
    /// <paramref name="Unreachable"/> when no connection could be made at all (refused, unresolvable, TLS failed): the
    /// provider is down or cut off, which holds back the client's new requests as an unanswered one does, so that
    /// attempts that cannot reach it do not spend the token budget the provider's return will need.
    /// </remarks>
    public sealed record NotSent(string Why, bool Unreachable = false) : TokenEndpointOutcome;

    /// <summary>
    /// The request may have reached the server, but no usable answer came back (timeout, reset, 5xx).
    /// <paramref name="Unanswered"/> when nothing came back at all (a timeout, a connection lost after sending): the
    /// provider may have stopped answering, which holds back the client's new requests (see UnansweredRequestBackoff).
    /// </summary>
    public sealed record OutcomeUnknown(string Why, bool Unanswered = false) : TokenEndpointOutcome;

    /// <summary>Name used in logs and metrics.</summary>
    public string Kind => this switch
    {
        Issued => "issued",
        Rejected r => r.Error,
        Refused r => $"refused_{r.HttpStatus}",
        Throttled => "throttled",
        NotSent => "not_sent",
        OutcomeUnknown => "outcome_unknown",
        _ => "unknown",
    };
}
