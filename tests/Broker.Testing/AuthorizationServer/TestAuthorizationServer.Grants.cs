using Microsoft.Extensions.DependencyInjection;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Broker.Testing.AuthorizationServer;

public sealed partial class TestAuthorizationServer
{
    /// <summary>
    /// The status of every refresh token the server issued to <paramref name="user"/>, from its own token store:
    /// <c>valid</c> (it would accept it), <c>redeemed</c> (rotated), <c>revoked</c>, ...
    /// </summary>
    public async Task<IReadOnlyList<string>> RefreshTokenStatusesOfAsync(string user)
    {
        await using var scope = _app.Services.CreateAsyncScope();
        var tokens = scope.ServiceProvider.GetRequiredService<IOpenIddictTokenManager>();
        var statuses = new List<string>();
        await foreach (var token in tokens.FindBySubjectAsync(user))
        {
            // OpenIddict stores the type as the RFC 8693 identifier; older stores used the short hint.
            if (await tokens.HasTypeAsync(token, TokenTypeIdentifiers.RefreshToken) || await tokens.HasTypeAsync(token, TokenTypeHints.RefreshToken))
                statuses.Add(await tokens.GetStatusAsync(token) ?? "none");
        }
        return statuses;
    }

    /// <summary>
    /// Revokes every token the server issued to <paramref name="user"/>, as an administrator (or the user, at the
    /// provider's account page) would: the next refresh is answered invalid_grant.
    /// </summary>
    public async Task RevokeGrantsOfAsync(string user)
    {
        await using var scope = _app.Services.CreateAsyncScope();
        var tokens = scope.ServiceProvider.GetRequiredService<IOpenIddictTokenManager>();
        var found = new List<object>();
        await foreach (var token in tokens.FindBySubjectAsync(user)) found.Add(token);
        foreach (var token in found) await tokens.TryRevokeAsync(token);
    }

    /// <summary>How many refresh tokens of <paramref name="user"/> the server would still accept: the grants alive there.</summary>
    public async Task<int> ValidRefreshTokensOfAsync(string user) =>
        (await RefreshTokenStatusesOfAsync(user)).Count(s => s == Statuses.Valid);
}
