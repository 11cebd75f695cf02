using Broker.Abstractions.Identity;

namespace Broker.Abstractions.Tokens;

/// <summary>Where a token handed to a caller came from.</summary>
public enum TokenSource
{
    Cache,
    Refresh,
    ClientCredentials,
}

/// <summary>An access token handed to a caller, with what it needs to use it.</summary>
[GenerateSerializer, Immutable]
public sealed record AccessTokenResult(
    [property: Id(0)] string AccessToken,
    [property: Id(1)] string TokenType,
    [property: Id(2)] DateTimeOffset ExpiresAt,
    [property: Id(3)] ScopeSet Scopes,
    [property: Id(4)] TokenSource Source)
{
    /// <summary>When the token was issued: with <see cref="ExpiresAt"/>, what a cache needs to apply the family's freshness rule.</summary>
    [Id(5)] public DateTimeOffset IssuedAt { get; init; }

    /// <summary>
    /// How long the silo that asked may hand out this same token from its own cache (zero: not at all). The family
    /// waits until every lease it gave has ended before any change to what it serves completes.
    /// </summary>
    [Id(6)] public TimeSpan Lease { get; init; }

    // Keep tokens out of anything that prints records.
    public override string ToString() => $"AccessTokenResult {{ TokenType = {TokenType}, ExpiresAt = {ExpiresAt:O}, Scopes = {Scopes}, Source = {Source} }}";
}

/// <summary>The tokens a token endpoint returned (RFC 6749 §5.1), in memory only.</summary>
[GenerateSerializer, Immutable]
public sealed record TokenSet(
    [property: Id(0)] string AccessToken,
    [property: Id(1)] string TokenType,
    [property: Id(2)] DateTimeOffset ExpiresAt,
    [property: Id(3)] string? RefreshToken,
    [property: Id(4)] string? IdToken,
    [property: Id(5)] ScopeSet Scopes)
{
    /// <summary>When the token endpoint answered: the moment <see cref="ExpiresAt"/> was counted from (null for imports).</summary>
    [Id(6)] public DateTimeOffset? IssuedAt { get; init; }

    public override string ToString() => $"TokenSet {{ TokenType = {TokenType}, ExpiresAt = {ExpiresAt:O}, HasRefreshToken = {RefreshToken is not null}, Scopes = {Scopes} }}";
}
