using System.Security.Cryptography;
using System.Text;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Broker.Testing.AuthorizationServer;

/// <summary>
/// What the token endpoint processed. Grant counters count successful grants (a token response
/// was issued); <see cref="RefreshTokenRejections"/> counts refresh_token grants answered with an error.
/// <see cref="RefreshTokenReuses"/> counts presentations of a refresh token the server had already been
/// sent, whatever the answer: a replay accepted inside a reuse leeway counts as much as a rejected one.
/// </summary>
public sealed class TestAuthorizationServerStats
{
    private readonly Dictionary<string, Presentations> _presented = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private int _tokenRequests;
    private int _authorizationCodeGrants;
    private int _refreshTokenGrants;
    private int _clientCredentialsGrants;
    private int _refreshTokenRejections;
    private int _refreshTokenReuses;

    private sealed record Presentations(DateTimeOffset First, int Count, TimeSpan LastReuseDelay);

    public TestAuthorizationServerStats(TimeProvider? time = null) => _time = time ?? TimeProvider.System;

    /// <summary>Every response of the token endpoint, successful or not.</summary>
    public int TokenRequests => Volatile.Read(ref _tokenRequests);

    public int AuthorizationCodeGrants => Volatile.Read(ref _authorizationCodeGrants);

    public int RefreshTokenGrants => Volatile.Read(ref _refreshTokenGrants);

    public int ClientCredentialsGrants => Volatile.Read(ref _clientCredentialsGrants);

    /// <summary>Presentations of a refresh token already presented before (accepted in a leeway or not).</summary>
    public int RefreshTokenReuses => Volatile.Read(ref _refreshTokenReuses);

    /// <summary>refresh_token grants that got an error (invalid_grant for reused/revoked/expired tokens, invalid_client, ...).</summary>
    public int RefreshTokenRejections => Volatile.Read(ref _refreshTokenRejections);

    /// <summary>The most times any one refresh token was presented (1 when none was ever sent twice, 0 when none was sent).</summary>
    public int MostPresentationsOfOneRefreshToken
    {
        get
        {
            lock (_presented) return _presented.Count == 0 ? 0 : _presented.Values.Max(p => p.Count);
        }
    }

    /// <summary>The longest time between a refresh token's first presentation and a later one (zero without reuse).</summary>
    public TimeSpan LongestReuseDelay
    {
        get
        {
            lock (_presented) return _presented.Count == 0 ? TimeSpan.Zero : _presented.Values.Max(p => p.LastReuseDelay);
        }
    }

    private readonly Dictionary<string, List<DateTimeOffset>> _refreshGrants = new(StringComparer.Ordinal);

    /// <summary>Remembers when a refresh grant issued tokens to <paramref name="subject"/> (the user who authorized).</summary>
    public void RecordRefreshGrant(string subject)
    {
        var now = _time.GetUtcNow();
        lock (_refreshGrants)
        {
            if (!_refreshGrants.TryGetValue(subject, out var times)) _refreshGrants[subject] = times = [];
            times.Add(now);
        }
    }

    /// <summary>When each subject's successful refresh grants were issued, oldest first (a copy).</summary>
    public IReadOnlyDictionary<string, DateTimeOffset[]> RefreshGrantsBySubject()
    {
        lock (_refreshGrants) return _refreshGrants.ToDictionary(p => p.Key, p => p.Value.ToArray(), StringComparer.Ordinal);
    }

    public void Reset()
    {
        lock (_refreshGrants) _refreshGrants.Clear();
        Interlocked.Exchange(ref _tokenRequests, 0);
        Interlocked.Exchange(ref _authorizationCodeGrants, 0);
        Interlocked.Exchange(ref _refreshTokenGrants, 0);
        Interlocked.Exchange(ref _clientCredentialsGrants, 0);
        Interlocked.Exchange(ref _refreshTokenRejections, 0);
        Interlocked.Exchange(ref _refreshTokenReuses, 0);
        lock (_presented) _presented.Clear();
        _errors.Clear();
    }

    public override string ToString() =>
        $"TokenRequests={TokenRequests}, AuthorizationCodeGrants={AuthorizationCodeGrants}, " +
        $"RefreshTokenGrants={RefreshTokenGrants}, ClientCredentialsGrants={ClientCredentialsGrants}, " +
        $"RefreshTokenRejections={RefreshTokenRejections}, RefreshTokenReuses={RefreshTokenReuses}";

    private readonly System.Collections.Concurrent.ConcurrentQueue<TokenError> _errors = new();

    /// <summary>Every error the token endpoint answered, in order, with OpenIddict's description of why.</summary>
    public IReadOnlyCollection<TokenError> Errors => _errors;

    private readonly System.Collections.Concurrent.ConcurrentQueue<IssuedSecret> _secrets = new();

    /// <summary>
    /// Every secret the token endpoint saw or issued, in order: PKCE verifiers of code redemptions, and access, refresh
    /// and ID tokens of every grant (code, refresh, client credentials), for tests that search output for them.
    /// </summary>
    public IReadOnlyCollection<IssuedSecret> Secrets => _secrets;

    internal void Issued(SecretKind kind, string? value)
    {
        if (!string.IsNullOrEmpty(value)) _secrets.Enqueue(new IssuedSecret(kind, value));
    }

    internal void Record(string? grantType, string? error, string? description)
    {
        Interlocked.Increment(ref _tokenRequests);
        if (!string.IsNullOrEmpty(error)) _errors.Enqueue(new TokenError(grantType, error, description));

        var succeeded = string.IsNullOrEmpty(error);
        switch (grantType)
        {
            case GrantTypes.AuthorizationCode when succeeded:
                Interlocked.Increment(ref _authorizationCodeGrants);
                break;
            case GrantTypes.RefreshToken when succeeded:
                Interlocked.Increment(ref _refreshTokenGrants);
                break;
            case GrantTypes.RefreshToken:
                Interlocked.Increment(ref _refreshTokenRejections);
                break;
            case GrantTypes.ClientCredentials when succeeded:
                Interlocked.Increment(ref _clientCredentialsGrants);
                break;
        }
    }

    /// <summary>Remembers a SHA-256 of every refresh token presented; a second presentation is a reuse.</summary>
    public void RecordRefreshTokenPresented(string refreshToken)
    {
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(refreshToken)));
        var now = _time.GetUtcNow();
        lock (_presented)
        {
            if (_presented.TryGetValue(hash, out var seen))
            {
                _presented[hash] = seen with { Count = seen.Count + 1, LastReuseDelay = now - seen.First };
                Interlocked.Increment(ref _refreshTokenReuses);
            }
            else
            {
                _presented[hash] = new Presentations(now, 1, TimeSpan.Zero);
            }
        }
    }
}

/// <summary>One error answer of the token endpoint.</summary>
public sealed record TokenError(string? GrantType, string Error, string? Description);

public enum SecretKind { CodeVerifier, AccessToken, RefreshToken, IdToken }

/// <summary>A secret the token endpoint received or issued.</summary>
public sealed record IssuedSecret(SecretKind Kind, string Value)
{
    public override string ToString() => $"{Kind} ({Value.Length} chars)"; // never the value
}
