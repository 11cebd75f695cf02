using Broker.Abstractions;
using Broker.Abstractions.Grains;
using Broker.Abstractions.Identity;
using Broker.Abstractions.Tokens;
using Broker.Grains.Authorizations;
using Broker.OAuth.Authorization;
using Broker.OAuth.Providers;
using Broker.Silo.Callers;
using Broker.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Broker.Silo.Api;

/// <summary>
/// The gRPC face of the broker: validates every field, checks the caller's policy, then calls one grain. Failures are
/// <see cref="BrokerException"/>s, which <see cref="FailureStatuses"/> turns into statuses.
/// </summary>
[BindServiceMethod(typeof(TypedRequestBinding), nameof(TypedRequestBinding.BindService))]
public sealed partial class TokenBrokerService(GrainReferences references, ProviderRegistry providers, AuthorizationState states,
    TimeProvider time, Events.EventWatch events, ProofRateLimiter proofLimiter, ServedTokenCache<FamilyKey> servedTokens, ServedTokenCache<ClientTokenKey> servedClientTokens,
    Broker.Grains.Telemetry.BrokerMetrics metrics) : TokenBroker.TokenBrokerBase
{
    public static readonly TimeSpan DefaultMinTimeToLive = TimeSpan.FromSeconds(300);
    private const int MaxResourceLength = 2048;

    public override async Task<BeginAuthorizationResponse> BeginAuthorization(BeginAuthorizationRequest request, ServerCallContext context)
    {
        var family = FamilyOf(request.Provider, request.Subject);
        var scopes = ScopeSet.Parse(request.Scopes);
        var call = CallerContext.Of(context);
        call.Demand(family.Provider, family.Subject, scopes);
        var binding = new AuthorizationBinding(call.Caller.Name, call.Caller.ReturnUrlFor(request.ReturnUrl), request.ReplaceAccount);
        var state = states.Create();
        var start = await references.Other<IPendingAuthorizationGrain>(OneTimeValue.KeyOf(state), call).Begin(family, scopes, state, binding);
        return new BeginAuthorizationResponse
        {
            AuthorizationUrl = start.AuthorizationUrl.AbsoluteUri,
            State = start.State,
            ExpiresAt = Timestamp.FromDateTimeOffset(start.ExpiresAt),
        };
    }

    public override async Task<CompleteAuthorizationResponse> CompleteAuthorization(CompleteAuthorizationRequest request, ServerCallContext context)
    {
        var family = FamilyOf(request.Provider, request.Subject);
        if (!OneTimeValue.IsWellFormed(request.Completion))
            throw new BrokerException(BrokerErrorReason.InvalidArgument, "completion must be the value the broker added to the return URL.") { Detail = "completion" };
        var call = CallerContext.Of(context);
        call.Demand(family.Provider, family.Subject);
        var completed = await references.Other<IAuthorizationCompletionGrain>(OneTimeValue.KeyOf(request.Completion), call).Claim(family, call.Caller.Name);
        var response = new CompleteAuthorizationResponse { HasRefreshToken = completed.HasRefreshToken };
        response.Scopes.AddRange(completed.Scopes.Values);
        return response;
    }

    // The cache hit answers without an async frame or a closure; the grain paths are their own methods.
    public override Task<AccessToken> GetAccessToken(GetAccessTokenRequest request, ServerCallContext context)
    {
        var family = FamilyOf(request.Provider, request.Subject);
        var minTimeToLive = MinTimeToLive(request.MinTtlSeconds);
        var call = CallerContext.Of(context);
        call.Demand(family.Provider, family.Subject);
        if (!request.ForceRefresh && servedTokens.TryGet(family, minTimeToLive, out var token))
        {
            // A copy the family leased to this silo: its scopes are checked against the caller as on the grain path.
            call.DemandHeldScopes(token.Scopes);
            metrics.TokenServed(request.Provider, "lease");
            return Task.FromResult(ToMessage(token));
        }
        return request.ForceRefresh
            ? RefreshFamilyAsync(call, family, minTimeToLive, context.CancellationToken)
            : LeaseFromFamilyAsync(call, family, minTimeToLive, context.CancellationToken);
    }

    private async Task<AccessToken> LeaseFromFamilyAsync(CallerContext call, FamilyKey family, TimeSpan minTimeToLive, CancellationToken cancellation)
    {
        var (token, shared) = await servedTokens.LeaseAsync(family, minTimeToLive,
            () => ClusterRetry.RunAsync(() => references.Family(family, call).LeaseAccessToken(minTimeToLive), cancellation), cancellation);
        if (shared) metrics.TokenServed(family.Provider.Value, "lease");
        // The family's scopes are known only now; a token wider than the caller's grant (or of unknown scopes) is not handed out.
        call.DemandHeldScopes(token.Scopes);
        return ToMessage(token);
    }

    private async Task<AccessToken> RefreshFamilyAsync(CallerContext call, FamilyKey family, TimeSpan minTimeToLive, CancellationToken cancellation)
    {
        var grain = references.Family(family, call);
        // A forced refresh spends a refresh and the client's budget: check the family's scopes before, not after.
        var held = await ClusterRetry.RunAsync(grain.Describe, cancellation);
        call.DemandHeldScopes(held.Scopes);
        var token = await ClusterRetry.RunAsync(() => grain.GetAccessToken(minTimeToLive, forceRefresh: true), cancellation);
        call.DemandHeldScopes(token.Scopes);
        return ToMessage(token);
    }

    public override Task<AccessToken> GetClientToken(GetClientTokenRequest request, ServerCallContext context)
    {
        var provider = providers.Get(ProviderName.Parse(request.Provider));
        var requested = ScopeSet.Parse(request.Scopes);
        if (request.Resource.Length > 0 && (request.Resource.Length > MaxResourceLength
            || !Uri.TryCreate(request.Resource, UriKind.Absolute, out var resource) || resource.Fragment.Length > 0))
        {
            // RFC 8707 §2: an absolute URI without a fragment.
            throw new BrokerException(BrokerErrorReason.InvalidArgument, $"resource must be an absolute URI without fragment, at most {MaxResourceLength} characters.");
        }
        var call = CallerContext.Of(context);
        // No scopes: the provider's configured default; with none configured the server chooses, which is "unknown".
        var scopes = requested.IsEmpty ? provider.ClientCredentialsScopes : requested;
        call.DemandHeld(provider.Name, subject: null, scopes);
        call.DemandResource(request.Resource);
        var key = new ClientTokenKey(provider.Name, provider.ClientId, scopes, request.Resource);
        var minTimeToLive = MinTimeToLive(request.MinTtlSeconds);
        if (!servedClientTokens.TryGet(key, minTimeToLive, out var token)) return LeaseClientTokenAsync(call, key, minTimeToLive, context.CancellationToken);
        metrics.TokenServed(request.Provider, "lease");
        // What the server granted, not what was asked, is what the caller would hold: refused (and audited) when wider.
        call.DemandHeldScopes(token.Scopes);
        return Task.FromResult(ToMessage(token));
    }

    private async Task<AccessToken> LeaseClientTokenAsync(CallerContext call, ClientTokenKey key, TimeSpan minTimeToLive, CancellationToken cancellation)
    {
        var (token, shared) = await servedClientTokens.LeaseAsync(key, minTimeToLive,
            () => ClusterRetry.RunAsync(() => references.ClientToken(key, call).LeaseAccessToken(minTimeToLive), cancellation), cancellation);
        if (shared) metrics.TokenServed(key.Provider.Value, "lease");
        call.DemandHeldScopes(token.Scopes);
        return ToMessage(token);
    }

    public override async Task<CreateProofResponse> CreateProof(CreateProofRequest request, ServerCallContext context)
    {
        var name = ProviderName.Parse(request.Provider);
        var provider = providers.Get(name);
        // RFC 9110 §9.1: a method is a token; htu an absolute http(s) URL (its query and fragment are dropped from the proof).
        if (request.HttpMethod.Length is 0 or > 32 || !request.HttpMethod.All(c => char.IsAsciiLetter(c) || c == '-'))
            throw new BrokerException(BrokerErrorReason.InvalidArgument, "http_method must be an HTTP method such as GET.") { Detail = "http_method" };
        if (request.Url.Length > MaxResourceLength || !Uri.TryCreate(request.Url, UriKind.Absolute, out var url)
            || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
            throw new BrokerException(BrokerErrorReason.InvalidArgument, $"url must be an absolute http(s) URL of at most {MaxResourceLength} characters.") { Detail = "url" };
        // RFC 9449 §8.1: a nonce is 1*NQCHAR.
        if (request.Nonce.Length > 512 || request.Nonce.Any(c => c is < ' ' or > '~' or '"' or '\\'))
            throw new BrokerException(BrokerErrorReason.InvalidArgument, "nonce must be the resource server's DPoP-Nonce value.") { Detail = "nonce" };
        var nonce = request.Nonce.Length == 0 ? null : request.Nonce;
        var call = CallerContext.Of(context);

        DpopProofResult proof;
        switch (request.TokenCase)
        {
            case CreateProofRequest.TokenOneofCase.Subject:
                var family = new FamilyKey(name, Subject.Parse(request.Subject));
                call.Demand(family.Provider, family.Subject);
                proofLimiter.Take(call.Caller.Name);
                var grain = references.Family(family, call);
                proof = await ClusterRetry.RunAsync(() => grain.CreateProof(request.HttpMethod, url.AbsoluteUri, nonce), context.CancellationToken);
                break;
            case CreateProofRequest.TokenOneofCase.ClientToken:
                var requested = ScopeSet.Parse(request.ClientToken.Scopes);
                var scopes = requested.IsEmpty ? provider.ClientCredentialsScopes : requested;
                call.DemandAs(nameof(GetClientToken), name, subject: null, scopes);
                call.DemandResource(request.ClientToken.Resource);
                proofLimiter.Take(call.Caller.Name);
                var key = new ClientTokenKey(name, provider.ClientId, scopes, request.ClientToken.Resource);
                var client = references.ClientToken(key, call);
                proof = await ClusterRetry.RunAsync(() => client.CreateProof(request.HttpMethod, url.AbsoluteUri, nonce), context.CancellationToken);
                break;
            default:
                throw new BrokerException(BrokerErrorReason.InvalidArgument, "name the token: subject or client_token.") { Detail = "token" };
        }
        return new CreateProofResponse { Proof = proof.Proof, AccessTokenHash = proof.AccessTokenHash, ExpiresAt = Timestamp.FromDateTimeOffset(proof.ExpiresAt) };
    }

    public override async Task<ImportTokensResponse> ImportTokens(ImportTokensRequest request, ServerCallContext context)
    {
        var family = FamilyOf(request.Provider, request.Subject);
        var provider = providers.Get(family.Provider);
        if (!IsTokenValue(request.AccessToken))
            throw new BrokerException(BrokerErrorReason.InvalidArgument, $"access_token must be 1-{MaxTokenLength} visible ASCII characters.");
        if (request.RefreshToken.Length > 0 && !IsTokenValue(request.RefreshToken))
            throw new BrokerException(BrokerErrorReason.InvalidArgument, $"refresh_token must be at most {MaxTokenLength} visible ASCII characters.");
        if (request.TokenType.Length > 32 || request.TokenType.Any(c => !char.IsAsciiLetterOrDigit(c) && c != '-' && c != '_'))
            throw new BrokerException(BrokerErrorReason.InvalidArgument, "token_type must be a short token such as Bearer.");
        var expiresAt = InstantOf(request.AccessTokenExpiresAt, "access_token_expires_at")
            ?? time.GetUtcNow() + provider.Options.DefaultAccessTokenLifetime;
        var tokens = new TokenSet(
            request.AccessToken,
            request.TokenType.Length == 0 ? "Bearer" : request.TokenType,
            expiresAt,
            request.RefreshToken.Length == 0 ? null : request.RefreshToken,
            IdToken: null,
            ScopeSet.Parse(request.Scopes));
        var call = CallerContext.Of(context);
        call.Demand(family.Provider, family.Subject, tokens.Scopes);
        await references.Family(family, call).ImportTokens(tokens);
        return new ImportTokensResponse();
    }

    private const int MaxTokenLength = 16 * 1024;

    // RFC 6749 Appendix A: access and refresh tokens are VSCHAR (%x20-7E); we also refuse space.
    private static bool IsTokenValue(string value) =>
        value.Length is > 0 and <= MaxTokenLength && value.All(c => c is > ' ' and <= '~');

    public override async Task<RevokeFamilyResponse> RevokeFamily(RevokeFamilyRequest request, ServerCallContext context)
    {
        var family = FamilyOf(request.Provider, request.Subject);
        var call = CallerContext.Of(context);
        call.Demand(family.Provider, family.Subject);
        servedTokens.Remove(family);
        await references.Family(family, call).Revoke();
        servedTokens.Remove(family);
        return new RevokeFamilyResponse();
    }

    public override async Task<V1.FamilyDescription> DescribeFamily(DescribeFamilyRequest request, ServerCallContext context)
    {
        var family = FamilyOf(request.Provider, request.Subject);
        var call = CallerContext.Of(context);
        call.Demand(family.Provider, family.Subject);
        var grain = references.Family(family, call);
        var d = await ClusterRetry.RunAsync(grain.Describe, context.CancellationToken);
        var message = new V1.FamilyDescription
        {
            Provider = d.Key.Provider.Value,
            Subject = d.Key.Subject.Value,
            Status = FamilyWireNames.Of(d.Status),
            HasRefreshToken = d.HasRefreshToken,
            RefreshCount = d.RefreshCount,
            LastRefreshOutcome = FamilyWireNames.Of(d.LastRefreshOutcome) ?? "",
            StatusReason = FamilyWireNames.Of(d.StatusReason) ?? "",
            AccessTokenExpiresAt = d.AccessTokenExpiresAt is { } e ? Timestamp.FromDateTimeOffset(e) : null,
            LastRefreshAt = d.LastRefreshAt is { } r ? Timestamp.FromDateTimeOffset(r) : null,
            ThrottledUntil = d.ThrottledUntil is { } t ? Timestamp.FromDateTimeOffset(t) : null,
        };
        message.Scopes.AddRange(d.Scopes.Values);
        return message;
    }

    /// <summary>Validates the pair and checks the provider exists before any grain is touched.</summary>
    private FamilyKey FamilyOf(string provider, string subject)
    {
        var name = ProviderName.Parse(provider);
        providers.Get(name);
        return new FamilyKey(name, Subject.Parse(subject));
    }


    // google.protobuf.Timestamp's range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z.
    private const long MinTimestampSeconds = -62_135_596_800;
    private const long MaxTimestampSeconds = 253_402_300_799;

    /// <summary>A Timestamp outside its documented range would throw in conversion (an INTERNAL): refuse it as the caller's error.</summary>
    private static DateTimeOffset? InstantOf(Timestamp? value, string field)
    {
        if (value is null) return null;
        if (value.Seconds is < MinTimestampSeconds or > MaxTimestampSeconds || value.Nanos is < 0 or > 999_999_999)
            throw new BrokerException(BrokerErrorReason.InvalidArgument, $"{field} must be a valid Timestamp: 0001-01-01 to 9999-12-31, nanos 0-999999999.");
        return value.ToDateTimeOffset();
    }

    private static TimeSpan MinTimeToLive(uint seconds) => seconds switch
    {
        0 => DefaultMinTimeToLive,
        > 86_400 => throw new BrokerException(BrokerErrorReason.InvalidArgument, "min_ttl_seconds must be at most 86400."),
        _ => TimeSpan.FromSeconds(seconds),
    };

    private static AccessToken ToMessage(AccessTokenResult token)
    {
        var message = new AccessToken
        {
            AccessToken_ = token.AccessToken,
            TokenType = token.TokenType,
            ExpiresAt = Timestamp.FromDateTimeOffset(token.ExpiresAt),
            Source = token.Source switch
            {
                TokenSource.Cache => "cache",
                TokenSource.Refresh => "refresh",
                _ => "client_credentials",
            },
        };
        // One by one: AddRange takes an IEnumerable, and an ImmutableArray passed as one is boxed.
        foreach (var scope in token.Scopes.Values) message.Scopes.Add(scope);
        return message;
    }
}
