using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Broker.Abstractions.Events;
using Broker.Silo.Callers;
using StandardWebhooks;

namespace Broker.Silo.Events;

/// <summary>
/// Sends one event to one receiver in the Standard Webhooks format (webhook-id, webhook-timestamp, webhook-signature
/// over "id.timestamp.body" with the caller's secret). Named HttpClients without retries (the outbox retries) and
/// without redirects; the connection goes only to an address checked against the SSRF rule.
/// </summary>
public sealed class WebhookSender(IHttpClientFactory clients, TimeProvider time)
{
    public const string Client = "broker-webhooks";
    public const string PrivateNetworkClient = "broker-webhooks-private";

    /// <summary>Null when the receiver accepted it (2xx); otherwise why not, without the body it answered.</summary>
    public async Task<string?> SendAsync(StoredEvent stored, WebhookOptions webhook, CancellationToken cancellationToken)
    {
        var body = Body(stored);
        var id = stored.Event.Id.ToString();
        var now = time.GetUtcNow();
        var signature = new StandardWebhook(WebhookTarget.SigningKey(webhook.Secret)!).Sign(id, now, body);
        using var request = new HttpRequestMessage(HttpMethod.Post, webhook.Url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("webhook-id", id);
        request.Headers.Add("webhook-timestamp", now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.Add("webhook-signature", signature);
        var client = clients.CreateClient(webhook.AllowPrivateNetwork ? PrivateNetworkClient : Client);
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            return response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode}";
        }
        catch (HttpRequestException ex)
        {
            return ex.InnerException is PrivateAddressException refused ? refused.Message : $"not delivered ({ex.HttpRequestError})";
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return "timed out";
        }
    }

    /// <summary>The payload: <c>{"type", "timestamp", "data": {...}}</c>, as Standard Webhooks suggests. Never a token.</summary>
    public static string Body(StoredEvent stored)
    {
        var e = stored.Event;
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("type", BrokerEventNames.Of(e.Type));
            json.WriteString("timestamp", e.Time.UtcDateTime);
            json.WriteStartObject("data");
            json.WriteString("id", e.Id.ToString());
            json.WriteString("provider", e.Provider);
            WriteOptional(json, "subject", e.Subject);
            WriteOptional(json, "owner", e.Owner);
            WriteOptional(json, "reason", e.Reason);
            json.WriteString("status", e.Status);
            json.WriteStartArray("scopes");
            foreach (var scope in e.Scopes.Values) json.WriteStringValue(scope);
            json.WriteEndArray();
            json.WriteNumber("suppressed", e.Suppressed);
            json.WriteNumber("cursor", stored.Sequence);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteOptional(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null) json.WriteNull(name);
        else json.WriteString(name, value);
    }

    /// <summary>
    /// Connects only to an address the rule allows: the name is resolved here and the checked address is the one
    /// connected to, so a name that resolves differently a second later (DNS rebinding) cannot slip through.
    /// </summary>
    public static SocketsHttpHandler Handler(bool allowPrivateNetwork) => new()
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        ConnectCallback = async (context, cancellationToken) =>
        {
            var host = context.DnsEndPoint.Host;
            var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, cancellationToken);
            var allowed = addresses.Where(a => allowPrivateNetwork || !WebhookTarget.IsPrivate(a)).ToList();
            if (allowed.Count == 0)
                throw new PrivateAddressException($"refused: {host} resolves only to private, loopback or link-local addresses (Webhook:AllowPrivateNetwork is off)");
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(allowed[0], context.DnsEndPoint.Port, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };
}

/// <summary>A webhook target that resolves only to addresses the SSRF rule refuses.</summary>
public sealed class PrivateAddressException(string message) : Exception(message);
