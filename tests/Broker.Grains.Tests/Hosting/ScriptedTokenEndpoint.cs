using System.Collections.Concurrent;
using Broker.Abstractions.Identity;
using Broker.Abstractions.Tokens;
using Broker.OAuth.Providers;
using Broker.OAuth.Tokens;

namespace Broker.Grains.Tests.Hosting;

/// <summary>
/// A fake token endpoint, named as such: it answers under the fake clock so grain timing can be tested in
/// milliseconds. Refreshes rotate (a new access and refresh token each time) unless a test scripts another
/// answer. The protocol itself is tested against the real authorization server in the outer ring.
/// </summary>
public sealed class ScriptedTokenEndpoint(TimeProvider clock) : ITokenEndpoint
{
    private int _issued;

    public TimeSpan Lifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Every refresh token presented, in order.</summary>
    public ConcurrentQueue<string> RefreshesSent { get; } = new();

    public ConcurrentQueue<string> Revoked { get; } = new();

    /// <summary>Answers for the next refreshes, in order; when empty, tokens are issued.</summary>
    public ConcurrentQueue<Func<TokenEndpointOutcome>> NextRefreshes { get; } = new();

    /// <summary>When set, refreshes wait for it after they were received (a request in flight).</summary>
    public TaskCompletionSource? Hold { get; set; }

    public TokenSet Issue(string prefix = "t")
    {
        var n = Interlocked.Increment(ref _issued);
        return new TokenSet($"{prefix}-access-{n}", "Bearer", clock.GetUtcNow() + Lifetime, $"{prefix}-refresh-{n}", null, ScopeSet.Parse(["api.read"]))
        {
            IssuedAt = clock.GetUtcNow(),
        };
    }

    public async Task<TokenEndpointOutcome> RefreshAsync(Provider provider, string refreshToken, ScopeSet held, CancellationToken cancellationToken = default,
        Broker.OAuth.Dpop.IDpopProver? dpop = null, bool bound = false)
    {
        RefreshesSent.Enqueue(refreshToken);
        if (Hold is { } hold) await hold.Task;
        return NextRefreshes.TryDequeue(out var scripted) ? scripted() : new TokenEndpointOutcome.Issued(Issue());
    }

    /// <summary>Answers for the next code redemptions, in order; when empty, tokens are issued.</summary>
    public ConcurrentQueue<Func<TokenEndpointOutcome>> NextRedemptions { get; } = new();

    public ConcurrentQueue<string> CodesSent { get; } = new();

    public Task<TokenEndpointOutcome> RedeemCodeAsync(Provider provider, string code, string codeVerifier, ScopeSet requested, CancellationToken cancellationToken = default,
        Broker.OAuth.Dpop.IDpopProver? dpop = null)
    {
        CodesSent.Enqueue(code);
        return Task.FromResult(NextRedemptions.TryDequeue(out var scripted) ? scripted() : new TokenEndpointOutcome.Issued(Issue("code")));
    }

    public Task<TokenEndpointOutcome> ClientCredentialsAsync(Provider provider, ScopeSet scopes, string resource, CancellationToken cancellationToken = default,
        Broker.OAuth.Dpop.IDpopProver? dpop = null) =>
        Task.FromResult<TokenEndpointOutcome>(new TokenEndpointOutcome.Issued(Issue("client")));

    public Task<bool> RevokeAsync(Provider provider, string token, string tokenTypeHint, CancellationToken cancellationToken = default)
    {
        Revoked.Enqueue(token);
        return Task.FromResult(true);
    }
}
