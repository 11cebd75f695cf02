using Broker.Abstractions;
using Broker.Abstractions.Grains;
using Broker.Abstractions.Identity;
using Broker.Grains.Telemetry;
using Broker.OAuth.Dpop;
using Broker.OAuth.Providers;
using Broker.OAuth.Tokens;
using Microsoft.Extensions.Logging;

namespace Broker.Grains.Upstream;

/// <summary>
/// Every token request any grain sends goes through here: the client's cluster-wide budget, the request, its
/// timing, one log line and one metric, the provider's back-off, and the outcome as a typed error. One path,
/// so a rule such as "a 429 stops every silo" holds for code redemption as much as for refreshes.
/// </summary>
public sealed partial class UpstreamTokenRequests(
    ITokenEndpoint endpoint,
    IGrainFactory grains,
    TimeProvider time,
    BrokerMetrics metrics,
    ILogger<UpstreamTokenRequests> logger)
{
    /// <summary>
    /// Takes one request from the client's budget, and from the share of the caller the call serves
    /// (<see cref="CallerRequestContext"/>); THROTTLED when either is spent. Grains that write before they send
    /// (a refresh intent, a spent state) take it before that write, so a refusal changes nothing.
    /// </summary>
    public async Task TakeBudgetAsync(Provider provider, string? clientTokenKey = null)
    {
        var caller = CallerRequestContext.Current;
        if (await Throttle(provider).TryAcquire(caller, clientTokenKey) is not { } hold) return;
        throw hold switch
        {
            { Unanswered: true } => new BrokerException(BrokerErrorReason.ProviderUnavailable,
                $"provider '{provider.Name}' left a token request unanswered (timed out) or took no connection; every silo holds back new token requests for a while.",
                hold.Wait) { Detail = "unanswered" },
            { ProviderUnavailable: true } => new BrokerException(BrokerErrorReason.ProviderUnavailable,
                $"provider '{provider.Name}' answered 503 and asks every silo to wait.", hold.Wait),
            { CallerLimit: ClientThrottleGrain.ClientTokenKeys } => new BrokerException(BrokerErrorReason.Throttled,
                $"caller '{caller}' has created as many client-token keys (scope sets and resources) at provider '{provider.Name}' as it may for now.",
                hold.Wait) { Detail = hold.CallerLimit },
            { CallerLimit: { } limit } => new BrokerException(BrokerErrorReason.Throttled,
                $"caller '{caller}' has used its share of the token requests of this client at provider '{provider.Name}'.", hold.Wait) { Detail = limit },
            _ => new BrokerException(BrokerErrorReason.Throttled,
                $"token requests of this client at provider '{provider.Name}' are over their budget.", hold.Wait),
        };
    }

    /// <summary>Sends a refresh token. The budget was taken by the caller before it wrote its intent.</summary>
    public Task<TokenEndpointOutcome> RefreshAsync(Provider provider, string refreshToken, ScopeSet held, IDpopProver? dpop = null, bool bound = false) =>
        SendAsync(provider, "refresh_token", () => endpoint.RefreshAsync(provider, refreshToken, held, dpop: dpop, bound: bound));

    /// <summary>A client-credentials request; <paramref name="clientTokenKey"/> is the token's grain key, counted per caller.</summary>
    public async Task<TokenEndpointOutcome> ClientCredentialsAsync(Provider provider, ScopeSet scopes, string resource, string clientTokenKey,
        IDpopProver? dpop = null)
    {
        await TakeBudgetAsync(provider, clientTokenKey);
        return await SendAsync(provider, "client_credentials", () => endpoint.ClientCredentialsAsync(provider, scopes, resource, dpop: dpop));
    }

    /// <summary>Redeems a code. The budget was taken by the caller before it spent the authorization's state.</summary>
    public Task<TokenEndpointOutcome> RedeemCodeAsync(Provider provider, string code, string codeVerifier, ScopeSet requested, IDpopProver? dpop = null) =>
        SendAsync(provider, "authorization_code", () => endpoint.RedeemCodeAsync(provider, code, codeVerifier, requested, dpop: dpop));

    /// <summary>Until when the provider or the budget holds this client back, if it does.</summary>
    public Task<DateTimeOffset?> BlockedUntilAsync(Provider provider) => Throttle(provider).BlockedUntil();

    public Task<bool> RevokeAsync(Provider provider, string token, string tokenTypeHint) =>
        endpoint.RevokeAsync(provider, token, tokenTypeHint);

    /// <summary>What a caller is told when a token request ended without tokens (a refresh has its own rules in the family).</summary>
    public static BrokerException ErrorFor(TokenEndpointOutcome outcome, string request) => outcome switch
    {
        TokenEndpointOutcome.Rejected { Error: DpopUse.NotBoundError } => new BrokerException(BrokerErrorReason.ProviderRejected,
            $"the provider answered {request} with a bearer token though its DPoP mode is Required; the tokens were given back.")
            { Detail = DpopUse.NotBoundError },
        TokenEndpointOutcome.Rejected rejected => new BrokerException(BrokerErrorReason.ProviderRejected,
            $"the provider rejected {request} with '{rejected.Error}'.") { Detail = rejected.Error },
        TokenEndpointOutcome.Refused refused => new BrokerException(BrokerErrorReason.ProviderRejected,
            $"the provider refused {request} (HTTP {refused.HttpStatus}, without an OAuth error).") { Detail = $"http_{refused.HttpStatus}" },
        TokenEndpointOutcome.Throttled throttled => Throttled(throttled),
        TokenEndpointOutcome.NotSent notSent => new BrokerException(BrokerErrorReason.ProviderUnavailable,
            $"the provider could not be reached: {notSent.Why}", TimeSpan.FromSeconds(5)),
        TokenEndpointOutcome.OutcomeUnknown unknown => new BrokerException(BrokerErrorReason.ProviderUnavailable,
            $"{request} ended without a usable answer: {unknown.Why}", TimeSpan.FromSeconds(5)),
        _ => new BrokerException(BrokerErrorReason.ProviderUnavailable,
            $"{request} ended without an answer ({outcome.Kind}).", TimeSpan.FromSeconds(5)),
    };

    /// <summary>
    /// A 503 is the provider down or overloaded: UNAVAILABLE, which clients and meshes retry. A 429 is a rate
    /// limit: RESOURCE_EXHAUSTED. Both carry the provider's delay as RetryInfo.
    /// </summary>
    public static BrokerException Throttled(TokenEndpointOutcome.Throttled throttled) => throttled.HttpStatus == 503
        ? new BrokerException(BrokerErrorReason.ProviderUnavailable, "the provider is unavailable (503) and asks the broker to wait.", throttled.RetryAfter)
        : new BrokerException(BrokerErrorReason.Throttled, "the provider asks the broker to slow down.", throttled.RetryAfter);

    private async Task<TokenEndpointOutcome> SendAsync(Provider provider, string grant, Func<Task<TokenEndpointOutcome>> send)
    {
        var started = time.GetTimestamp();
        var outcome = await send();
        var elapsed = time.GetElapsedTime(started).TotalMilliseconds;
        // Tokens issued are counted and timed by the metrics: a line each would cost a storm of refreshes more than the
        // refreshes (the console logger wakes its writer per line: 7.6 % of the silo's CPU in a profiled pinned storm). Anything
        // else is worth a line.
        LogTokenRequest(logger, outcome is TokenEndpointOutcome.Issued ? LogLevel.Debug : LogLevel.Information, provider.Name.Value, grant, outcome.Kind, elapsed);
        metrics.UpstreamRequest(provider.Name.Value, grant, outcome.Kind, elapsed);
        // The server asked the whole client to wait (429, 503 with Retry-After): stop every silo, not just this grain.
        // No answer at all (a timeout): the provider may have stalled, and every refresh sent into it would be a lost
        // answer. Hold every silo's new requests back for a while (UnansweredRequestBackoff); any answer ends the streak.
        switch (outcome)
        {
            case TokenEndpointOutcome.Throttled throttled:
                await Throttle(provider).Backoff(throttled.RetryAfter, throttled.HttpStatus == 503);
                break;
            case TokenEndpointOutcome.OutcomeUnknown { Unanswered: true }:
            // A provider that takes no connection at all is down: every silo's attempts would fail the same way, each
            // spending the budget its return will need (the soak's 60 s outage drained it; docs/reliability.md).
            case TokenEndpointOutcome.NotSent { Unreachable: true }:
                await Throttle(provider).Unanswered();
                break;
            case TokenEndpointOutcome.NotSent:
                break;
            default:
                await Throttle(provider).Answered();
                break;
        }
        return outcome;
    }

    private IClientThrottleGrain Throttle(Provider provider) =>
        grains.GetGrain<IClientThrottleGrain>(new ClientKey(provider.Name, provider.ClientId).ToGrainKey());

    [LoggerMessage(EventId = 2002, Message = "Token request ({Grant}) at {Provider} ended {Outcome} in {ElapsedMs} ms.")]
    private static partial void LogTokenRequest(ILogger logger, LogLevel level, string provider, string grant, string outcome, double elapsedMs);
}
