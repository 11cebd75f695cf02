using Broker.Testing.Hosting;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Broker.Silo.Tests.Callback;

/// <summary>
/// Fault injection, hand-written on purpose: serves the real server's metadata document with one field
/// removed, to show how the broker treats a server that does not advertise PKCE.
/// </summary>
public sealed class MetadataRewritingProxy : IAsyncDisposable
{
    private readonly WebApplication _app;

    private MetadataRewritingProxy(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    public static async Task<MetadataRewritingProxy> StartAsync(Uri issuer, string removeField)
    {
        var http = new HttpClient(); // lives as long as the proxy
        var (app, address) = await LoopbackWebApp.StartAsync(app => app.MapGet("/metadata", async () =>
        {
            var document = JsonNode.Parse(await http.GetStringAsync(new Uri(issuer, ".well-known/openid-configuration")))!.AsObject();
            document.Remove(removeField);
            return Results.Text(document.ToJsonString(), "application/json");
        }));
        return new MetadataRewritingProxy(app, new Uri(address, "metadata"));
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
