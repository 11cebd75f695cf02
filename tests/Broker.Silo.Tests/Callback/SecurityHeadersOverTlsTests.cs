using System.Net;
using Broker.Silo.Callback;
using Broker.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Broker.Silo.Tests.Callback;

/// <summary>
/// "HSTS on TLS": the silo's HTTP listener has no TLS setting, so the middleware that writes the browser-facing
/// headers runs here on a Kestrel with one TLS and one plain listener, each reached by a real client.
/// </summary>
public sealed class SecurityHeadersOverTlsTests : IAsyncLifetime
{
    private WebApplication _app = null!;
    private int _tlsPort;
    private int _plainPort;

    public async Task InitializeAsync()
    {
        using var authority = TestCertificates.Authority("CN=Headers Test CA");
        var certificate = TestCertificates.Issue(authority, "CN=127.0.0.1", serverAuth: true);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(certificate));
            k.Listen(IPAddress.Loopback, 0);
        });
        _app = builder.Build();
        _app.UseMiddleware<SecurityHeadersMiddleware>();
        _app.MapGet("/page", () => Results.Content("<p>done</p>", "text/html"));
        await _app.StartAsync();
        var ports = _app.Urls.Select(u => (Uri: new Uri(u), Tls: u.StartsWith("https", StringComparison.Ordinal))).ToList();
        _tlsPort = ports.Single(p => p.Tls).Uri.Port;
        _plainPort = ports.Single(p => !p.Tls).Uri.Port;
    }

    private static HttpClient Browser() => new(new SocketsHttpHandler
    {
        // The test CA is not in the machine's store; only the transport matters here.
        SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
    });

    [Fact]
    public async Task An_answer_over_tls_carries_strict_transport_security()
    {
        using var browser = Browser();
        using var response = await browser.GetAsync($"https://127.0.0.1:{_tlsPort}/page");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var hsts = Assert.Single(response.Headers.GetValues("Strict-Transport-Security"));
        Assert.Matches("^max-age=[1-9][0-9]*", hsts);
        Assert.Equal("no-referrer", Assert.Single(response.Headers.GetValues("Referrer-Policy")));
    }

    [Fact]
    public async Task An_answer_over_plain_http_carries_no_strict_transport_security()
    {
        using var browser = Browser();
        using var response = await browser.GetAsync($"http://127.0.0.1:{_plainPort}/page");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.Headers.Contains("Strict-Transport-Security"));
        Assert.Equal("no-referrer", Assert.Single(response.Headers.GetValues("Referrer-Policy")));
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();
}
