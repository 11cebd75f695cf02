using Broker.Client;

// Settings: Broker:Client:Address (the broker's gRPC address), Sample:ApiBaseUrl, Sample:Provider, Sample:Subject.
var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddBrokerClient(o =>
{
    builder.Configuration.GetSection(BrokerClientOptions.Section).Bind(o);
    o.ApiKey = builder.Configuration["Broker:Client:ApiKey"];
});

var provider = builder.Configuration["Sample:Provider"] ?? "github";
builder.Services.AddHttpClient("external-api", c => c.BaseAddress = new Uri(builder.Configuration["Sample:ApiBaseUrl"] ?? "https://api.github.com/"))
    // Which user a request is for: here one configured subject; a web app would take it from the signed-in user.
    .AddBrokerAccessToken(provider, (services, _) => services.GetRequiredService<IConfiguration>()["Sample:Subject"] ?? "alice");
builder.Services.AddHostedService<ExternalApiPoller>();
builder.Build().Run();

/// <summary>Calls the external API once a minute; the handler attaches, reuses and refreshes the token.</summary>
internal sealed partial class ExternalApiPoller(IHttpClientFactory http, ILogger<ExternalApiPoller> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(1));
        do
        {
            try
            {
                using var response = await http.CreateClient("external-api").GetAsync("user", stoppingToken);
                LogCalled(logger, (int)response.StatusCode);
            }
            catch (BrokerClientException ex) when (ex.NeedsAuthorization)
            {
                LogNeedsAuthorization(logger, ex.Reason);
            }
            catch (ExternalApiThrottledException ex)
            {
                await Task.Delay(ex.RetryAfter ?? TimeSpan.FromMinutes(1), stoppingToken);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "External API answered {Status}.")]
    private static partial void LogCalled(ILogger logger, int status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The user must authorize first ({Reason}).")]
    private static partial void LogNeedsAuthorization(ILogger logger, string reason);
}
