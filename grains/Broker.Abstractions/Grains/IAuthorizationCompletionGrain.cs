using Broker.Abstractions.Identity;
using Broker.Abstractions.Tokens;

namespace Broker.Abstractions.Grains;

/// <summary>
/// The tokens of a redeemed authorization, waiting for the service that began it to claim them for its signed-in
/// user (RFC 9700 §4.7: an authorization completes only for the user who started it). Key: a hash of the completion
/// handle, which reaches the service through the user's browser and nowhere else. Single use; discarded, and its
/// grant revoked upstream, when not claimed in time.
/// </summary>
public interface IAuthorizationCompletionGrain : IGrainWithStringKey
{
    Task Hold(HeldAuthorization held);

    /// <summary>
    /// Hands the tokens to the family, when <paramref name="family"/> and <paramref name="caller"/> are the ones the
    /// authorization was begun with. A mismatch fails with <see cref="BrokerErrorReason.PermissionDenied"/> and
    /// discards the authorization.
    /// </summary>
    Task<AuthorizationCompleted> Claim(FamilyKey family, string caller);
}

/// <summary>A redeemed authorization before its claim. In memory and in messages only; stored sealed.</summary>
[GenerateSerializer, Immutable]
public sealed record HeldAuthorization(
    [property: Id(0)] FamilyKey Family,
    [property: Id(1)] string Caller,
    [property: Id(2)] TokenSet Tokens,
    [property: Id(3)] UpstreamAccount? Account,
    [property: Id(4)] bool ReplaceAccount,
    [property: Id(5)] DateTimeOffset ExpiresAt)
{
    public override string ToString() => $"HeldAuthorization {{ Caller = {Caller}, ExpiresAt = {ExpiresAt:O} }}";
}
