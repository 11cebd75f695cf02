using System.Net;
using Broker.Testing.AuthorizationServer;
using Broker.V1;
using Microsoft.AspNetCore.WebUtilities;

namespace Broker.Testing.Hosting;

/// <summary>
/// Plays the user's browser and the calling service: begins an authorization at the broker, follows the URL to the
/// test authorization server (whose test login approves at once), delivers the redirect to the broker, and completes
/// the authorization with the handle the broker sent the browser back with.
/// </summary>
public static class AuthorizationFlow
{
    private static readonly HttpClient Browser = new(new SocketsHttpHandler { AllowAutoRedirect = false });

    /// <summary>Runs the whole flow as the admin test caller and asserts it succeeded.</summary>
    public static async Task AuthorizeAsync(IBrokerEndpoints silo, string provider, string subject, params string[] scopes)
    {
        var callback = await ObtainRedirectAsync(silo, provider, subject, scopes, returnUrl: TestCallers.ReturnUrl);
        using var response = await DeliverAsync(silo, callback);
        var completion = CompletionOf(response)
            ?? throw new InvalidOperationException($"callback answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        await silo.Client.CompleteAuthorizationAsync(new CompleteAuthorizationRequest { Provider = provider, Subject = subject, Completion = completion });
    }

    /// <summary>Runs the flow in direct mode (a caller allowed InsecureDirectCompletion, no return URL) and asserts it succeeded.</summary>
    public static async Task AuthorizeDirectlyAsync(IBrokerEndpoints silo, string provider, string subject, params string[] scopes)
    {
        var callback = await ObtainRedirectAsync(silo, provider, subject, scopes);
        using var response = await DeliverAsync(silo, callback);
        if (response.StatusCode != HttpStatusCode.OK)
            throw new InvalidOperationException($"callback answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>The completion handle of a callback's redirect to a return URL, or null when it did not redirect there.</summary>
    public static string? CompletionOf(HttpResponseMessage callbackResponse) =>
        callbackResponse.StatusCode == HttpStatusCode.SeeOther && callbackResponse.Headers.Location is { } location
        && QueryHelpers.ParseQuery(location.Query).TryGetValue("completion", out var completion) && completion.Count == 1
            ? completion[0]
            : null;

    /// <summary>The user named <paramref name="login"/> logs in at the test authorization server.</summary>
    public static IDictionary<string, string?> LoginAs(string login) => new Dictionary<string, string?> { ["login_hint"] = login };

    /// <summary>
    /// Begins an authorization and returns where the authorization server redirects the browser. Without
    /// <paramref name="returnUrl"/> the callback completes directly (the admin test caller may).
    /// </summary>
    public static async Task<Uri> ObtainRedirectAsync(IBrokerEndpoints silo, string provider, string subject, string[] scopes,
        IDictionary<string, string?>? extraParameters = null, Uri? returnUrl = null, TokenBroker.TokenBrokerClient? caller = null,
        bool replaceAccount = false)
    {
        var request = new BeginAuthorizationRequest
        {
            Provider = provider,
            Subject = subject,
            ReturnUrl = returnUrl?.AbsoluteUri ?? "",
            ReplaceAccount = replaceAccount,
        };
        request.Scopes.AddRange(scopes);
        var begun = await (caller ?? silo.Client).BeginAuthorizationAsync(request);
        return await LogInAsync(new Uri(begun.AuthorizationUrl), extraParameters);
    }

    /// <summary>The browser at the authorization URL: returns where the server's login redirects it.</summary>
    public static async Task<Uri> LogInAsync(Uri authorizationUrl, IDictionary<string, string?>? extraParameters = null)
    {
        var url = authorizationUrl.AbsoluteUri;
        if (extraParameters is not null) url = QueryHelpers.AddQueryString(url, extraParameters);
        using var response = await Browser.GetAsync(url);
        if (response.StatusCode != HttpStatusCode.Redirect && response.StatusCode != HttpStatusCode.Found)
            throw new InvalidOperationException($"authorization server answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return response.Headers.Location!;
    }

    /// <summary>Delivers a redirect to the broker's callback (through the given silo's HTTP port).</summary>
    public static Task<HttpResponseMessage> DeliverAsync(IBrokerEndpoints silo, Uri redirect) =>
        silo.Http.GetAsync(new Uri(silo.Http.BaseAddress!, redirect.PathAndQuery));

    /// <summary>Rewrites one query parameter of a redirect (null removes it): a tampered authorization response.</summary>
    public static Uri WithParameter(Uri redirect, string name, string? value)
    {
        var query = QueryHelpers.ParseQuery(redirect.Query);
        var kept = query.Where(p => p.Key != name).SelectMany(p => p.Value.Select(v => new KeyValuePair<string, string?>(p.Key, v))).ToList();
        if (value is not null) kept.Add(new(name, value));
        return new Uri(QueryHelpers.AddQueryString(redirect.GetLeftPart(UriPartial.Path), kept));
    }

    /// <summary>Replaces the path of a redirect (a response delivered to another provider's redirect URI).</summary>
    public static Uri WithPath(Uri redirect, string path) => new UriBuilder(redirect) { Path = path }.Uri;
}
