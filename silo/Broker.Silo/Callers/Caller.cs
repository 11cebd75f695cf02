using Broker.Abstractions;
using Broker.Abstractions.Identity;
using Broker.V1;

namespace Broker.Silo.Callers;

/// <summary>
/// An authenticated caller and its policy. Plain rules with no I/O: default deny, and every grant is
/// explicit (providers, subjects exact/prefix/all, scopes, and the actions beyond reading tokens).
/// </summary>
public sealed class Caller
{
    private const string All = "*";
    private readonly CallerOptions _policy;

    public Caller(string name, CallerOptions policy)
    {
        Name = name;
        _policy = policy;
    }

    public string Name { get; }

    /// <summary>Where this caller's events are delivered, if anywhere.</summary>
    public WebhookOptions? Webhook => _policy.Webhook is { Url: not null, Secret: not null } webhook ? webhook : null;

    /// <summary>The embedded default's caller when no caller is configured: development only, allowed everything.</summary>
    public static Caller Development { get; } = new("development", new CallerOptions
    {
        Providers = [All], Subjects = [All], Scopes = [All], Resources = [All],
        MayGetClientTokens = true, MayBeginAuthorization = true, MayImport = true, MayRevoke = true,
        // Loopback development with no application in front: the browser that logs in is the developer's own.
        InsecureDirectCompletion = true,
    });

    /// <summary>
    /// How an authorization this caller begins is bound to its user: a registered return URL, or none where the policy
    /// allows direct completion. Throws INVALID_ARGUMENT when it is missing, PERMISSION_DENIED when it is not registered.
    /// </summary>
    public Uri? ReturnUrlFor(string requested)
    {
        if (requested.Length == 0)
        {
            return _policy.InsecureDirectCompletion ? null : throw new BrokerException(BrokerErrorReason.InvalidArgument,
                $"return_url is required: register the caller's return URLs under {CallerOptions.Section}:{Name}:ReturnUrls.") { Detail = "return_url" };
        }
        return Broker.OAuth.Authorization.ReturnUrl.Match(requested, _policy.ReturnUrls)
            ?? throw new BrokerException(BrokerErrorReason.PermissionDenied,
                $"caller '{Name}' may not use this return_url: it is not one of its registered return URLs (scheme, host, port and path match exactly).")
                { Detail = "use this return_url" };
    }

    /// <summary>Throws <see cref="BrokerErrorReason.PermissionDenied"/> unless the policy grants all of it.</summary>
    public void Demand(CallerAction action, ProviderName provider, Subject? subject = null, ScopeSet? scopes = null)
    {
        if (Denial(action, provider, subject, scopes) is { } why) Deny(why);
    }

    /// <summary>Why the policy refuses, or null when it allows.</summary>
    public string? Denial(CallerAction action, ProviderName provider, Subject? subject, ScopeSet? scopes)
    {
        if (!Grants(action.Permission)) return Verb(action);
        if (!AllowsProvider(provider)) return $"use provider '{provider}'";
        if (subject is { } s && !AllowsSubject(s)) return "use this subject";
        if (scopes is { } requested && !AllowsScopes(requested)) return "use these scopes";
        return null;
    }

    /// <summary>
    /// Whether this caller may see an event (WatchEvents, webhooks): its policy covers the family's provider and subject
    /// (a client token's event: the provider). Scopes are not asked: an event carries no token.
    /// </summary>
    public bool Covers(Abstractions.Events.BrokerEvent e) =>
        ProviderName.TryParse(e.Provider, out var provider) && AllowsProvider(provider)
        && (e.Subject is null || (Subject.TryParse(e.Subject, out var subject) && AllowsSubject(subject)));

    // Loops, not LINQ: these run on every call, and a lambda capturing the provider or subject is an allocation each.
    public bool AllowsProvider(ProviderName provider)
    {
        foreach (var p in _policy.Providers)
        {
            if (p == All || string.Equals(p, provider.Value, StringComparison.Ordinal)) return true;
        }
        return false;
    }

    public bool AllowsSubject(Subject subject)
    {
        foreach (var rule in _policy.Subjects)
        {
            if (rule == All
                || (rule.EndsWith('*') && subject.Value.AsSpan().StartsWith(rule.AsSpan(0, rule.Length - 1), StringComparison.Ordinal))
                || string.Equals(rule, subject.Value, StringComparison.Ordinal))
                return true;
        }
        return false;
    }

    public bool AllowsScopes(ScopeSet scopes)
    {
        if (scopes.IsEmpty || _policy.Scopes.Contains(All)) return true;
        foreach (var scope in scopes.Values)
        {
            if (!_policy.Scopes.Contains(scope)) return false; // List<string>.Contains compares ordinally
        }
        return true;
    }

    /// <summary>
    /// Whether a token carrying <paramref name="held"/> may be handed to this caller. Empty means unknown (the server's
    /// choice, or an importer that named none), never "nothing": only a caller allowed every scope takes it.
    /// </summary>
    public bool AllowsHeldScopes(ScopeSet held) => held.IsEmpty ? _policy.Scopes.Contains(All) : AllowsScopes(held);

    /// <summary>RFC 8707 resources: exactly as listed, or all with <c>*</c>; none unless listed. No resource is always allowed.</summary>
    public bool AllowsResource(string resource)
    {
        if (resource.Length == 0) return true;
        foreach (var r in _policy.Resources)
        {
            if (r == All || string.Equals(r, resource, StringComparison.Ordinal)) return true;
        }
        return false;
    }

    /// <summary>Throws PERMISSION_DENIED unless a token carrying <paramref name="held"/> may be handed out (<see cref="AllowsHeldScopes"/>).</summary>
    public void DemandHeld(CallerAction action, ProviderName provider, Subject? subject, ScopeSet held)
    {
        Demand(action, provider, subject);
        DemandHeldScopes(held);
    }

    /// <summary>The scopes part of <see cref="DemandHeld"/> alone, for a call whose action, provider and subject were demanded already.</summary>
    public void DemandHeldScopes(ScopeSet held)
    {
        if (AllowsHeldScopes(held)) return;
        Deny(held.IsEmpty ? "receive a token whose scopes are unknown (empty)" : "use these scopes");
    }

    /// <summary>Throws PERMISSION_DENIED unless the caller's <c>Resources</c> list this resource.</summary>
    public void DemandResource(string resource)
    {
        if (!AllowsResource(resource)) Deny("use this resource");
    }

    private void Deny(string why) =>
        throw new BrokerException(BrokerErrorReason.PermissionDenied, $"caller '{Name}' may not {why}.") { Detail = why };

    /// <summary>The policy's flag for each grant; a grant this version does not know is refused.</summary>
    private bool Grants(CallerPermission permission) => permission switch
    {
        CallerPermission.Read => true,
        CallerPermission.GetClientTokens => _policy.MayGetClientTokens,
        CallerPermission.BeginAuthorization => _policy.MayBeginAuthorization,
        CallerPermission.Import => _policy.MayImport,
        CallerPermission.Revoke => _policy.MayRevoke,
        _ => false,
    };

    private static string Verb(CallerAction action) => action.Permission switch
    {
        CallerPermission.GetClientTokens => "get client-credentials tokens",
        CallerPermission.BeginAuthorization => "begin authorizations",
        CallerPermission.Import => "import tokens",
        CallerPermission.Revoke => "revoke families",
        _ => $"call {action.Name}",
    };
}
