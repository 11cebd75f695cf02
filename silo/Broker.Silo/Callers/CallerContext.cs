using Broker.Abstractions.Identity;
using Grpc.Core;

namespace Broker.Silo.Callers;

/// <summary>
/// One authenticated call: who makes it, what it asks, and what it touched (for the audit event).
/// <see cref="CallerGate"/> creates it before the service runs; the service demands its permissions.
/// </summary>
public sealed class CallerContext(Caller caller, CallerAction action, FamilyLogId logIds)
{
    public Caller Caller { get; } = caller;
    public CallerAction Action { get; } = action;
    public string Provider { get; private set; } = "-";
    public string Family { get; private set; } = "-";
    private string? _subject;

    public static CallerContext Of(ServerCallContext context) =>
        context.GetHttpContext().Features.Get<CallerContext>()
        ?? throw new InvalidOperationException("the caller interceptor did not run for this call.");

    // A request feature, not an Items entry: Kestrel keeps a stream's feature slots from request to request, while
    // Items is a dictionary made anew for every request that touches it.
    internal void AttachTo(HttpContext http) => http.Features.Set(this);

    /// <summary>Checks the policy for a family (or a client token when <paramref name="subject"/> is null); throws PERMISSION_DENIED.</summary>
    public void Demand(ProviderName provider, Subject? subject, ScopeSet? scopes = null)
    {
        Touch(provider, subject);
        Caller.Demand(Action, provider, subject, scopes);
    }

    /// <summary>As <see cref="Demand"/>, with the grant another method needs (CreateProof for a client token needs GetClientToken's).</summary>
    public void DemandAs(string method, ProviderName provider, Subject? subject, ScopeSet? scopes = null)
    {
        Touch(provider, subject);
        Caller.Demand(CallerAction.Named(method), provider, subject, scopes);
    }

    /// <summary>Before a token is handed out, or a refresh spent on one: its scopes, where empty means unknown.</summary>
    public void DemandHeld(ProviderName provider, Subject? subject, ScopeSet held)
    {
        Touch(provider, subject);
        Caller.DemandHeld(Action, provider, subject, held);
    }

    /// <summary>A token's scopes, once this call's provider and subject were demanded: no second policy walk on the hot path.</summary>
    public void DemandHeldScopes(ScopeSet held) => Caller.DemandHeldScopes(held);

    /// <summary>What the audit event names. Once per call: GetAccessToken demands twice (before the grain call, and with the token's scopes).</summary>
    private void Touch(ProviderName provider, Subject? subject)
    {
        if (ReferenceEquals(Provider, provider.Value) && ReferenceEquals(_subject, subject?.Value)) return;
        Provider = provider.Value;
        _subject = subject?.Value;
        Family = subject is { } s ? logIds.Of(new FamilyKey(provider, s)) : "client";
    }

    public void DemandResource(string resource) => Caller.DemandResource(resource);
}
