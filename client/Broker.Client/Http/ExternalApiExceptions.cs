namespace Broker.Client;

/// <summary>The external API answered 403 with <c>error="insufficient_scope"</c> (RFC 6750 §3.1): the token lacks a scope.</summary>
public sealed class InsufficientScopeException(string? requiredScope)
    : Exception($"the API requires a scope the token does not carry{(requiredScope is null ? "" : $": {requiredScope}")}.")
{
    public string? RequiredScope { get; } = requiredScope;
}

/// <summary>The external API answered 429; <see cref="RetryAfter"/> is its Retry-After, when it gave one.</summary>
public sealed class ExternalApiThrottledException(TimeSpan? retryAfter)
    : Exception("the API asks the caller to slow down (429).")
{
    public TimeSpan? RetryAfter { get; } = retryAfter;
}
