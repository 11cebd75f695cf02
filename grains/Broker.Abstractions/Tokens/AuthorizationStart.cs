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

/// <summary>
/// How an authorization is bound to whoever began it: the caller, and where the browser returns with the
/// completion handle. No return URL: the callback makes the tokens live at once (direct mode, only for callers
/// whose policy allows it).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record AuthorizationBinding(
    [property: Id(0)] string Caller,
    [property: Id(1)] Uri? ReturnUrl,
    [property: Id(2)] bool ReplaceAccount);

/// <summary>
/// The outcome of a redeemed authorization. With a <see cref="Completion"/> the tokens wait for the caller to claim
/// them; without one the family already holds them.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record AuthorizationCompleted(
    [property: Id(0)] FamilyKey Family,
    [property: Id(1)] ScopeSet Scopes,
    [property: Id(2)] bool HasRefreshToken,
    [property: Id(3)] string? Completion = null,
    [property: Id(4)] Uri? ReturnUrl = null)
{
    public override string ToString() => $"AuthorizationCompleted {{ Scopes = {Scopes}, HasRefreshToken = {HasRefreshToken}, AwaitsClaim = {Completion is not null} }}";
}

/// <summary>
/// The upstream account that granted an authorization: the ID token's <c>iss</c> and <c>sub</c> (OpenID Connect
/// Core §2). Compared, never logged.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record UpstreamAccount([property: Id(0)] string Issuer, [property: Id(1)] string Subject)
{
    /// <summary>One string for both parts; a newline cannot occur in either.</summary>
    public string Canonical => $"account\n{Issuer}\n{Subject}";

    public override string ToString() => "UpstreamAccount { … }";
}
