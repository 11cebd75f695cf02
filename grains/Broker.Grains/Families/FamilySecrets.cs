using System.Security.Cryptography;
using System.Text;
using Broker.Abstractions;
using Broker.Abstractions.Tokens;
using Broker.Grains.Protection;

namespace Broker.Grains.Families;

/// <summary>
/// Seals and opens one family's secrets. The grain's key and the field are the associated data, so a
/// ciphertext moved to another family or field does not open. Keeps the opened access token of the state in
/// hand, so a cache hit costs no decryption.
/// </summary>
public sealed class FamilySecrets(SecretProtector protector, TokenFingerprint fingerprints, string grainKey) : IDisposable
{
    private (ProtectedSecret Sealed, string Plain)? _access;

    public SealedTokens Seal(TokenSet tokens) => new(
        Seal(tokens.AccessToken, "access_token"),
        tokens.TokenType,
        tokens.ExpiresAt,
        tokens.RefreshToken is null ? null : Seal(tokens.RefreshToken, "refresh_token"),
        tokens.IdToken is null ? null : Seal(tokens.IdToken, "id_token"),
        tokens.Scopes,
        tokens.IssuedAt);

    public string AccessToken(ProtectedSecret secret)
    {
        if (_access is { } held && ReferenceEquals(held.Sealed, secret)) return held.Plain;
        var plain = Open(secret, "access_token");
        _access = (secret, plain);
        return plain;
    }

    public string RefreshToken(ProtectedSecret secret) => Open(secret, "refresh_token");

    /// <summary>The fingerprint of the refresh token held, or null when there is none or it no longer opens.</summary>
    public string? FingerprintOfHeld(TokenFamilyState state) =>
        state.RefreshToken is { } held && TryOpen(held, "refresh_token") is { } token ? fingerprints.Of(token) : null;

    public string Fingerprint(string refreshToken) => fingerprints.Of(refreshToken);

    /// <summary>The account that granted an authorization against the one held; unknown when either side has no ID token.</summary>
    public AccountChange CompareAccount(TokenFamilyState state, UpstreamAccount? account) =>
        state.AccountFingerprint is not { } held || account is null ? AccountChange.Unknown
        : fingerprints.Matches(account.Canonical, held) ? AccountChange.Same
        : AccountChange.Different;

    public bool WasSuperseded(TokenFamilyState state, string presented) =>
        state.SupersededRefreshTokens.Any(f => fingerprints.Matches(presented, f));

    /// <summary>Whether <paramref name="presented"/> is the refresh token held, compared in constant time.</summary>
    public bool IsHeld(TokenFamilyState state, string presented) =>
        state.RefreshToken is { } held && TryOpen(held, "refresh_token") is { } token
        && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(token), Encoding.UTF8.GetBytes(presented));

    /// <summary>The plaintext of every token still readable, for revocation upstream.</summary>
    public (string? Refresh, string? Access) Readable(TokenFamilyState state) => Readable(state.RefreshToken, state.AccessToken);

    public (string? Refresh, string? Access) Readable(ProtectedSecret? refresh, ProtectedSecret? access) => (
        refresh is { } r ? TryOpen(r, "refresh_token") : null,
        access is { } a ? TryOpen(a, "access_token") : null);

    /// <summary>The family's DPoP key sealed under its own field, so it opens nowhere else.</summary>
    public ProtectedSecret SealDpopKey(Broker.OAuth.Dpop.DpopKey key) => Seal(key.ExportSealable(), "dpop_key");

    private (ProtectedSecret Sealed, Broker.OAuth.Dpop.DpopKey Key)? _dpopKey;

    /// <summary>The family's DPoP key, opened once per sealed value.</summary>
    public Broker.OAuth.Dpop.DpopKey DpopKey(ProtectedSecret secret)
    {
        if (_dpopKey is { } held && ReferenceEquals(held.Sealed, secret)) return held.Key;
        var key = Broker.OAuth.Dpop.DpopKey.ImportSealable(Open(secret, "dpop_key"));
        _dpopKey = (secret, key);
        return key;
    }

    public bool NeedsReencryption(TokenFamilyState state) =>
        new[] { state.AccessToken, state.RefreshToken, state.IdToken, state.DpopKey }.Any(s => s is not null && protector.NeedsReencryption(s));

    /// <summary>The same tokens sealed under the ring's primary key. Throws STATE_UNREADABLE when one does not open.</summary>
    public TokenFamilyState Resealed(TokenFamilyState state) => state with
    {
        AccessToken = Reseal(state.AccessToken, "access_token"),
        RefreshToken = Reseal(state.RefreshToken, "refresh_token"),
        IdToken = Reseal(state.IdToken, "id_token"),
        DpopKey = Reseal(state.DpopKey, "dpop_key"),
    };

    /// <summary>Authentication failed on a key this silo holds: altered or moved. A key it lacks is not tampering.</summary>
    public static bool IsTampering(BrokerException ex) =>
        ex.Reason == BrokerErrorReason.StateUnreadable && ex.Detail is not (SecretProtector.KeyNotInRing or Storage.StoredStateLedger.Unauthenticated);

    private ProtectedSecret? Reseal(ProtectedSecret? secret, string field) =>
        secret is not null && protector.NeedsReencryption(secret) ? Seal(Open(secret, field), field) : secret;

    private string Context(string field) => $"family/{grainKey}/{field}";
    private ProtectedSecret Seal(string secret, string field) => protector.Protect(secret, Context(field));
    private string Open(ProtectedSecret secret, string field) => protector.Unprotect(secret, Context(field));

    private string? TryOpen(ProtectedSecret secret, string field)
    {
        try
        {
            return Open(secret, field);
        }
        catch (BrokerException ex) when (IsTampering(ex)) // a key this silo lacks still fails the call
        {
            return null;
        }
    }

    /// <summary>Frees the opened DPoP key when the activation ends, rather than whenever its finalizer runs.</summary>
    public void Dispose()
    {
        _dpopKey?.Key.Dispose();
        _dpopKey = null;
    }
}
