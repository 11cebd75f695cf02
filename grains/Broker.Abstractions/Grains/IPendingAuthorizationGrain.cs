using Broker.Abstractions.Identity;
using Broker.Abstractions.Tokens;

namespace Broker.Abstractions.Grains;

/// <summary>
/// An authorization request between its start and its callback. Key: a hash of the state value, so that the
/// state itself is never stored or used as a database key. Usable once, for a limited time.
/// </summary>
public interface IPendingAuthorizationGrain : IGrainWithStringKey
{
    Task<AuthorizationStart> Begin(FamilyKey family, ScopeSet scopes, string state);

    /// <summary>Validates the response against the pending request, exchanges the code, and hands the tokens to the family.</summary>
    Task<AuthorizationCompleted> Complete(ProviderName provider, AuthorizationResponse response);
}
