using Microsoft.Extensions.DependencyInjection;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Broker.Testing.AuthorizationServer;

// The registered clients: made at start, then changed by tests as an operator would change them at the provider.
public sealed partial class TestAuthorizationServer
{
    /// <summary>
    /// Adds a redirect URI to an already registered client, e.g. the broker's callback once its port is bound.
    /// </summary>
    public Task AddRedirectUriAsync(string clientId, Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        return UpdateClientAsync(clientId, descriptor => descriptor.RedirectUris.Add(uri));
    }

    /// <summary>
    /// Replaces a registered client's secret, as an operator rotating it at the provider does: requests with the old
    /// one are then refused with <c>invalid_client</c> until it is set back.
    /// </summary>
    public Task SetClientSecretAsync(string clientId, string secret)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        return UpdateClientAsync(clientId, descriptor =>
        {
            descriptor.ClientSecret = secret; // hashed by the manager
            return true;
        });
    }

    /// <summary>Changes a registered client; <paramref name="change"/> says whether it changed anything.</summary>
    private async Task UpdateClientAsync(string clientId, Func<OpenIddictApplicationDescriptor, bool> change)
    {
        ArgumentException.ThrowIfNullOrEmpty(clientId);

        await using var scope = _app.Services.CreateAsyncScope();
        var manager = scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>();
        var application = await manager.FindByClientIdAsync(clientId).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"Unknown client '{clientId}'.");

        // Round-trip through a descriptor: PopulateAsync copies the stored (hashed) secret, and UpdateAsync only
        // re-hashes when the secret changed, so a change to anything else keeps the secret valid.
        var descriptor = new OpenIddictApplicationDescriptor();
        await manager.PopulateAsync(descriptor, application).ConfigureAwait(false);
        if (change(descriptor))
        {
            await manager.UpdateAsync(application, descriptor).ConfigureAwait(false);
        }
    }

    private static async Task RegisterClientsAsync(IServiceProvider services, IEnumerable<TestAuthorizationServerClient> clients)
    {
        await using var scope = services.CreateAsyncScope();
        var manager = scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>();

        foreach (var client in clients)
        {
            var descriptor = new OpenIddictApplicationDescriptor
            {
                ClientId = client.ClientId,
                ClientSecret = client.ClientSecret, // hashed by the manager before storage
                JsonWebKeySet = client.JsonWebKeySet,
                ClientType = ClientTypes.Confidential,
                ApplicationType = ApplicationTypes.Web,
                ConsentType = ConsentTypes.Implicit,
                DisplayName = client.ClientId,
                Permissions =
                {
                    Permissions.Endpoints.Authorization,
                    Permissions.Endpoints.Token,
                    Permissions.Endpoints.Introspection,
                    Permissions.Endpoints.Revocation,
                    Permissions.GrantTypes.AuthorizationCode,
                    Permissions.GrantTypes.RefreshToken,
                    Permissions.GrantTypes.ClientCredentials,
                    Permissions.ResponseTypes.Code,
                },
                // Per-client PKCE requirement, on top of the server-wide RequireProofKeyForCodeExchange().
                Requirements = { Requirements.Features.ProofKeyForCodeExchange },
            };
            foreach (var scopeName in SupportedScopes)
            {
                descriptor.Permissions.Add(Permissions.Prefixes.Scope + scopeName);
            }
            foreach (var resource in SupportedResources)
            {
                descriptor.Permissions.Add(Permissions.Prefixes.Resource + resource);
            }
            foreach (var uri in client.RedirectUris)
            {
                descriptor.RedirectUris.Add(uri);
            }

            // client_secret_basic and client_secret_post are both accepted server-wide by the ASP.NET
            // Core host (OpenIddictServerOptions.ClientAuthenticationMethods); no per-client setting.
            await manager.CreateAsync(descriptor).ConfigureAwait(false);
        }
    }
}
