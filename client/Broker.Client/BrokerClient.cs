using Broker.V1;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Broker.Client;

/// <summary>An access token as a service uses it.</summary>
public sealed record BrokerToken(string AccessToken, string TokenType, DateTimeOffset ExpiresAt, IReadOnlyList<string> Scopes)
{
    public override string ToString() => $"BrokerToken {{ TokenType = {TokenType}, ExpiresAt = {ExpiresAt:O} }}";
}

/// <summary>The broker's API in a service's words; every failure is a <see cref="BrokerClientException"/>.</summary>
public sealed class BrokerClient(TokenBroker.TokenBrokerClient grpc, IOptions<BrokerClientOptions> options)
{
    private CallOptions Call(CancellationToken cancellationToken) =>
        new(deadline: DateTime.UtcNow + options.Value.Deadline, cancellationToken: cancellationToken);

    public async Task<BrokerToken> GetAccessTokenAsync(string provider, string subject, bool forceRefresh = false,
        TimeSpan? minTimeToLive = null, CancellationToken cancellationToken = default)
    {
        var token = await grpc.GetAccessTokenAsync(new GetAccessTokenRequest
        {
            Provider = provider,
            Subject = subject,
            ForceRefresh = forceRefresh,
            MinTtlSeconds = (uint)(minTimeToLive?.TotalSeconds ?? 0),
        }, Call(cancellationToken));
        return ToToken(token);
    }

    public async Task<BrokerToken> GetClientTokenAsync(string provider, IEnumerable<string> scopes, string? resource = null,
        CancellationToken cancellationToken = default)
    {
        var request = new GetClientTokenRequest { Provider = provider, Resource = resource ?? "" };
        request.Scopes.AddRange(scopes);
        return ToToken(await grpc.GetClientTokenAsync(request, Call(cancellationToken)));
    }

    /// <summary>Starts an authorization; send the user's browser to the returned URL.</summary>
    public async Task<Uri> BeginAuthorizationAsync(string provider, string subject, IEnumerable<string> scopes,
        CancellationToken cancellationToken = default)
    {
        var request = new BeginAuthorizationRequest { Provider = provider, Subject = subject };
        request.Scopes.AddRange(scopes);
        var response = await grpc.BeginAuthorizationAsync(request, Call(cancellationToken));
        return new Uri(response.AuthorizationUrl);
    }

    private static BrokerToken ToToken(AccessToken token) =>
        new(token.AccessToken_, token.TokenType, token.ExpiresAt.ToDateTimeOffset(), [.. token.Scopes]);
}
