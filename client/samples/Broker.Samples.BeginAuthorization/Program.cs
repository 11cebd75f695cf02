using Broker.Client;
using Microsoft.Extensions.DependencyInjection;

// dotnet run --project client/samples/Broker.Samples.BeginAuthorization -- <broker gRPC address> <provider> <subject> [scope ...]
if (args.Length < 3)
{
    Console.Error.WriteLine("usage: <broker gRPC address, e.g. http://127.0.0.1:5300> <provider> <subject> [scope ...]");
    return 2;
}

var services = new ServiceCollection()
    .AddBrokerClient(o => o.Address = new Uri(args[0]))
    .BuildServiceProvider();
try
{
    var url = await services.GetRequiredService<BrokerClient>().BeginAuthorizationAsync(args[1], args[2], args[3..]);
    Console.WriteLine($"Open this URL in the user's browser:\n{url}");
    return 0;
}
catch (BrokerClientException ex)
{
    Console.Error.WriteLine($"The broker refused: {ex.Reason}: {ex.Message}");
    return 1;
}
