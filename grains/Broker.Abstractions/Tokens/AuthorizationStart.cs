using Broker.Abstractions.Identity;

namespace Broker.Abstractions.Tokens;

/// <summary>What a caller needs to send the user to the authorization server.</summary>
[GenerateSerializer, Immutable]
public sealed record AuthorizationStart(
    [property: Id(0)] Uri AuthorizationUrl,
    [property: Id(1)] string State,
    [property: Id(2)] DateTimeOffset ExpiresAt);

/// <summary>The parameters of an authorization response delivered to the redirect URI (RFC 6749 §4.1.2, RFC 9207).</summary>
[GenerateSerializer, Immutable]
public sealed record AuthorizationResponse(
    [property: Id(0)] string? Code,
    [property: Id(1)] string? Issuer,
    [property: Id(2)] string? Error,
    [property: Id(3)] string? ErrorDescription)
{
    public override string ToString() => $"AuthorizationResponse {{ HasCode = {Code is not null}, Issuer = {Issuer}, Error = {Error} }}";
}

/// <summary>The outcome of a completed authorization: which family now holds tokens.</summary>
[GenerateSerializer, Immutable]
public sealed record AuthorizationCompleted(
    [property: Id(0)] FamilyKey Family,
    [property: Id(1)] ScopeSet Scopes);
