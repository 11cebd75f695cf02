using Broker.Abstractions.Identity;
using Broker.Abstractions.Tokens;

namespace Broker.Abstractions.Grains;

/// <summary>
/// An authorization request between its start and its callback. Key: a hash of the state value, so that the
/// state itself is never stored or used as a database key. Usable once, for a limited time.
/// </summary>
public interface IPendingAuthorizationGrain : IGrainWithStringKey
{
    Task<AuthorizationStart> Begin(FamilyKey family, ScopeSet scopes, string state, AuthorizationBinding binding);

    /// <summary>
    /// Validates the response against the pending request and exchanges the code. The tokens then wait for the
    /// caller's claim (<see cref="IAuthorizationCompletionGrain"/>), or go to the family at once in direct mode.
    /// </summary>
    Task<AuthorizationCompleted> Complete(ProviderName provider, AuthorizationResponse response);
}
