using Broker.Abstractions.Identity;
using Broker.Abstractions.Tokens;
using Broker.Grains.Protection;
using Broker.OAuth.Tokens;

namespace Broker.Grains.Families;

/// <summary>Tokens from the token endpoint, already sealed for this family: the decisions never see a secret in clear.</summary>
public sealed record SealedTokens(
    ProtectedSecret AccessToken,
    string TokenType,
    DateTimeOffset ExpiresAt,
    ProtectedSecret? RefreshToken,
    ProtectedSecret? IdToken,
    ScopeSet Scopes,
    DateTimeOffset? IssuedAt = null)
{
    /// <summary>When the token's lifetime started (<see cref="TokenLifetime.StartOf"/>).</summary>
    public DateTimeOffset IssuedAtOr(DateTimeOffset now) => TokenLifetime.StartOf(IssuedAt, ExpiresAt, now);
}

/// <summary>What can happen to a family. <see cref="TokenFamilyDecisions.Decide"/> answers each with a new state and effects.</summary>
public abstract record FamilyEvent
{
    private FamilyEvent() { }

    /// <summary>A caller wants a token valid for <paramref name="MinTimeToLive"/>.</summary>
    public sealed record Asked(TimeSpan MinTimeToLive, bool Force) : FamilyEvent;

    /// <summary>The refresh a caller waited on has ended (by any route): serve or explain.</summary>
    public sealed record RefreshSettled(long GenerationBefore) : FamilyEvent;

    /// <summary>This activation holds the family's gate and may refresh; <paramref name="GenerationAtStart"/> is what it saw before waiting.</summary>
    public sealed record RefreshTurn(long GenerationAtStart) : FamilyEvent;

    /// <summary>
    /// The token endpoint issued tokens for the refresh token whose fingerprint is <paramref name="SpentFingerprint"/>;
    /// <paramref name="RefreshTokenKept"/> when it answered with that same refresh token (a provider that does not rotate).
    /// </summary>
    public sealed record Refreshed(SealedTokens Tokens, string SpentFingerprint, bool RefreshTokenKept = false) : FamilyEvent;

    /// <summary>The refresh request ended without tokens; <paramref name="Replayed"/> when it was already sent a second time.</summary>
    public sealed record RefreshFailed(TokenEndpointOutcome Outcome, bool Replayed) : FamilyEvent;

    /// <summary>
    /// A completed authorization's tokens; <paramref name="ReplacedFingerprint"/> is the refresh token they replace.
    /// <paramref name="Account"/> compares the account that granted them with the one held (looked up by the grain);
    /// <paramref name="AccountFingerprint"/> is the new one's, null without an ID token. <paramref name="Owner"/> is the caller that began it.
    /// </summary>
    public sealed record Authorized(SealedTokens Tokens, string? ReplacedFingerprint, AccountChange Account, string? AccountFingerprint,
        bool ReplaceAccount, bool OfferedIsHeld, string? Owner = null) : FamilyEvent;

    /// <summary>A service (<paramref name="Owner"/>) hands over tokens it held; what the presented refresh token is to this family was looked up by the grain.</summary>
    public sealed record Imported(SealedTokens Tokens, string? ReplacedFingerprint, bool PresentedWasSuperseded, bool PresentedIsHeld,
        string? Owner = null) : FamilyEvent;

    /// <summary>Forget the tokens after revoking them upstream; <paramref name="CurrentFingerprint"/> is the refresh token held now.</summary>
    public sealed record RevokeRequested(string? CurrentFingerprint) : FamilyEvent;

    /// <summary>An operator's decision, or stored secrets that failed to decrypt: stop serving.</summary>
    public sealed record Marked(FamilyStatusReason Reason) : FamilyEvent;

    /// <summary>A DPoP key pair was made for the family (sealed); <paramref name="Thumbprint"/> is its RFC 7638 jkt.</summary>
    public sealed record DpopKeyMade(ProtectedSecret Key, string Thumbprint) : FamilyEvent;

    /// <summary>The keep-alive reminder fired.</summary>
    public sealed record KeepAliveDue : FamilyEvent;
}

/// <summary>The upstream account of an authorization against the one the family holds.</summary>
public enum AccountChange { Unknown, Same, Different }

/// <summary>Why a refresh started.</summary>
public enum RefreshCause { Expiring, Forced, Ahead, KeepAlive }
