using System.Net;
using Broker.Abstractions;
using Broker.Abstractions.Grains;
using Broker.Abstractions.Identity;
using Broker.Abstractions.Tokens;
using Broker.OAuth.Authorization;
using Broker.OAuth.Providers;
using Broker.Silo.Api;
using Broker.Silo.Audit;
using Broker.Grains.Authorizations;
using Broker.Grains.Families;

namespace Broker.Silo.Callback;

/// <summary>
/// The redirect URI, <c>GET /oauth2/callback/{provider}</c>: receives the authorization response in the
/// user's browser, hands it to the pending authorization, and answers with a small page that holds no token
/// and echoes no input.
/// </summary>
public static class AuthorizationCallbackEndpoint
{
    private static readonly string[] SingleValued = ["code", "state", "iss", "error", "error_description", "error_uri"];

    public static IEndpointConventionBuilder MapAuthorizationCallback(this IEndpointRouteBuilder routes) =>
        routes.MapGet("/oauth2/callback/{provider}", HandleAsync);

    private static async Task<IResult> HandleAsync(string provider, HttpContext http, IGrainFactory grains,
        ProviderRegistry providers, AuthorizationState states, AuditLog audit, FamilyLogId logIds)
    {
        try
        {
            if (!ProviderName.TryParse(provider, out var name) || !providers.TryGet(name, out _))
                throw new BrokerException(BrokerErrorReason.UnknownProvider, "unknown provider.");

            var query = http.Request.Query;
            foreach (var parameter in SingleValued)
            {
                // RFC 6749 §3.1: parameters must not be repeated; a second value could smuggle another code.
                if (query[parameter].Count > 1)
                    throw new BrokerException(BrokerErrorReason.InvalidAuthorizationResponse, $"the parameter '{parameter}' is repeated.");
                if (query[parameter].ToString().Length > AuthorizationResponseValidator.MaxParameterLength)
                    throw new BrokerException(BrokerErrorReason.InvalidAuthorizationResponse, $"the parameter '{parameter}' is too long.");
            }
            var state = query["state"].ToString();
            if (state.Length == 0) throw new BrokerException(BrokerErrorReason.InvalidState, "the response has no state.");
            // Checked before any grain or row is touched: a state the broker did not issue costs one HMAC.
            if (!states.IsAuthentic(state)) throw new BrokerException(BrokerErrorReason.InvalidState, "the state was not issued by this broker.");

            var response = new AuthorizationResponse(
                NullIfEmpty(query["code"]), NullIfEmpty(query["iss"]), NullIfEmpty(query["error"]), NullIfEmpty(query["error_description"]));
            var completed = await grains.GetGrain<IPendingAuthorizationGrain>(OneTimeValue.KeyOf(state)).Complete(name, response);
            if (completed is { Completion: { } completion, ReturnUrl: { } returnUrl })
            {
                // The service that began the flow completes it for its signed-in user (RFC 9700 §4.7); 303 so the browser GETs it.
                audit.AuthorizationCompleted(name.Value, logIds.Of(completed.Family), "awaiting_completion");
                http.Response.Headers.CacheControl = "no-store";
                http.Response.Headers.Location = ReturnUrl.WithCompletion(returnUrl, completion).AbsoluteUri;
                return Results.StatusCode(StatusCodes.Status303SeeOther);
            }
            // Without a refresh token (no offline_access) the family ends with its first access token: the user and the
            // audit trail hear it now, not at expiry.
            if (!completed.HasRefreshToken)
            {
                audit.AuthorizationCompleted(name.Value, logIds.Of(completed.Family), "ok_no_refresh_token");
                return Page(HttpStatusCode.OK, "Authorization complete, without a refresh token",
                    "The provider issued no refresh token: access works until the access token expires, then this authorization " +
                    "must be made again. The application should ask for offline_access (or what this provider needs to issue one).");
            }
            audit.AuthorizationCompleted(name.Value, logIds.Of(completed.Family), "ok");
            return Page(HttpStatusCode.OK, "Authorization complete", "You can close this window.");
        }
        catch (BrokerException ex)
        {
            audit.AuthorizationCompleted(ProviderName.TryParse(provider, out var named) ? named.Value : "-", "-", BrokerErrors.ReasonOf(ex.Reason));
            var status = ex.Reason switch
            {
                BrokerErrorReason.UnknownProvider => HttpStatusCode.NotFound,
                BrokerErrorReason.ProviderUnavailable => HttpStatusCode.BadGateway,
                BrokerErrorReason.Throttled => HttpStatusCode.ServiceUnavailable,
                _ => HttpStatusCode.BadRequest,
            };
            // The reason is one of our own constants, the text our own words: nothing from the request is echoed.
            // Nothing was spent when our own budget or an unreachable provider stopped the redemption: the same page can be reloaded.
            var retry = ex.Reason == BrokerErrorReason.Throttled || ex.Detail == Grains.Authorizations.PendingAuthorizationGrain.NotSentDetail;
            return Page(status, "Authorization failed", retry
                ? $"Reason: {BrokerErrors.ReasonOf(ex.Reason)}. Nothing was sent to the provider: wait a moment and reload this page to try again."
                : $"Reason: {BrokerErrors.ReasonOf(ex.Reason)}. Return to the application and start again.");
        }
    }

    private static string? NullIfEmpty(Microsoft.Extensions.Primitives.StringValues value) =>
        value.Count == 0 || value[0] is null || value[0]!.Length == 0 ? null : value[0];

    private static IResult Page(HttpStatusCode status, string title, string text) => Results.Content(
        $"<!doctype html><html><head><meta charset=\"utf-8\"><title>{WebUtility.HtmlEncode(title)}</title></head>" +
        $"<body><h1>{WebUtility.HtmlEncode(title)}</h1><p>{WebUtility.HtmlEncode(text)}</p></body></html>",
        "text/html; charset=utf-8", System.Text.Encoding.UTF8, (int)status);
}
