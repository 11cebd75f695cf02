using System.Net;
using Broker.Testing.AuthorizationServer;
using Broker.V1;
using Microsoft.AspNetCore.WebUtilities;

namespace Broker.Testing.Hosting;

/// <summary>
/// Plays the user's browser: begins an authorization at the broker, follows the URL to the test
/// authorization server (whose test login approves at once), and delivers the redirect to the broker.
/// </summary>
public static class AuthorizationFlow
{
    private static readonly HttpClient Browser = new(new SocketsHttpHandler { AllowAutoRedirect = false });

    /// <summary>Runs the whole flow and asserts the callback succeeded.</summary>
    public static async Task AuthorizeAsync(IBrokerEndpoints silo, string provider, string subject, params string[] scopes)
    {
        var callback = await ObtainRedirectAsync(silo, provider, subject, scopes);
        var response = await DeliverAsync(silo, callback);
        if (response.StatusCode != HttpStatusCode.OK)
            throw new InvalidOperationException($"callback answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>Begins an authorization and returns where the authorization server redirects the browser.</summary>
    public static async Task<Uri> ObtainRedirectAsync(IBrokerEndpoints silo, string provider, string subject, string[] scopes,
        IDictionary<string, string?>? extraParameters = null)
    {
        var request = new BeginAuthorizationRequest { Provider = provider, Subject = subject };
        request.Scopes.AddRange(scopes);
        var begun = await silo.Client.BeginAuthorizationAsync(request);
        var url = begun.AuthorizationUrl;
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
