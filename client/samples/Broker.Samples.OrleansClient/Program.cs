using Broker.Abstractions;
using Broker.Abstractions.Grains;
using Broker.Abstractions.Identity;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using StackExchange.Redis;

// dotnet run --project client/samples/Broker.Samples.OrleansClient -- <redis> <cluster id> <provider> <subject>
// An Orleans client is a member of the cluster's trust boundary: it calls grains without the gRPC API's caller
// policy. Run it only inside the network that already reaches the silos' gateway port (see README).
if (args.Length < 4)
{
    Console.Error.WriteLine("usage: <redis host:port> <cluster id> <provider> <subject>");
    return 2;
}

using var host = Host.CreateDefaultBuilder()
    .UseOrleansClient(client =>
    {
        client.Configure<ClusterOptions>(o => { o.ClusterId = args[1]; o.ServiceId = args[1]; });
        client.UseRedisClustering(o => o.ConfigurationOptions = ConfigurationOptions.Parse(args[0]));
    })
    .Build();
await host.StartAsync();

var grains = host.Services.GetRequiredService<IGrainFactory>();
var family = new FamilyKey(ProviderName.Parse(args[2]), Subject.Parse(args[3]));
try
{
    var token = await grains.GetGrain<ITokenFamilyGrain>(family.ToGrainKey()).GetAccessToken(TimeSpan.FromMinutes(5), forceRefresh: false);
    Console.WriteLine($"{token.TokenType} token valid until {token.ExpiresAt:O} (source: {token.Source})");
    return 0;
}
catch (BrokerException ex)
{
    Console.Error.WriteLine($"{ex.Reason}: {ex.Message}");
    return 1;
}
finally
{
    await host.StopAsync();
}
