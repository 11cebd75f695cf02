using Broker.Silo.Hosting;
using Broker.Silo.Storage;
using Microsoft.Extensions.Options;

// broker [--Broker:Mode=Cluster ...]     run a silo
// broker migrate [--Broker:Cluster:PostgreSql=...]   create or update the database schema, then exit
// broker new-api-key                                  print a new caller API key and the hash to configure
// Exit codes: 0 ok, 2 settings (each wrong one named), 3 schema missing or old, 4 a server (PostgreSQL) unreachable.
try
{
    if (args.Length > 0 && args[0] == "new-api-key")
    {
        var key = Broker.Silo.Callers.ApiKeyHash.NewKey();
        Console.WriteLine($"API key (give it to the caller, store it as a secret; it is not shown again): {key}");
        Console.WriteLine($"Hash (configure as Broker:Callers:<name>:ApiKeyHashes:N):                   {Broker.Silo.Callers.ApiKeyHash.Format(key)}");
        return 0;
    }

    if (args.Length > 0 && args[0] == "migrate")
    {
        var app = BrokerHost.Build(args[1..]);
        BrokerHost.ValidateSettings(app);
        var connectionString = app.Services.GetRequiredService<IOptions<ClusterModeOptions>>().Value.PostgreSql
            ?? throw new OptionsValidationException(ClusterModeOptions.Section, typeof(ClusterModeOptions),
                [$"{ClusterModeOptions.Section}:PostgreSql is required for migrate."]);
        var applied = await SchemaMigrator.MigrateAsync(connectionString);
        Console.WriteLine(applied.Count == 0
            ? "Schema is up to date."
            : $"Applied: {string.Join(", ", applied)}.");
        return 0;
    }

    var host = BrokerHost.Build(args);
    await BrokerHost.StartAsync(host);
    var membership = host.Services.GetRequiredService<Broker.Silo.Cluster.ClusterMembership>();
    host.Lifetime.ApplicationStopping.Register(() =>
    {
        // A silo that left its cluster must go even if its graceful stop hangs on the broken membership store.
        if (!membership.IsLost) return;
        var timeout = host.Services.GetRequiredService<IOptions<Broker.Silo.Cluster.MembershipWatchOptions>>().Value.ExitTimeout;
        _ = Task.Delay(timeout).ContinueWith(_ => Environment.Exit(Broker.Silo.Cluster.MembershipWatch.ExitCode), TaskScheduler.Default);
    });
    await host.WaitForShutdownAsync();
    return membership.IsLost ? Broker.Silo.Cluster.MembershipWatch.ExitCode : 0;
}
catch (Exception ex) when (InvalidSettings.From(ex) is { Count: > 0 } failures)
{
    Console.Error.WriteLine("Broker cannot start, configuration is invalid:");
    foreach (var failure in failures) Console.Error.WriteLine($"  - {failure}");
    return 2;
}
catch (SchemaMissingException ex)
{
    Console.Error.WriteLine($"Broker cannot start: {ex.Message}");
    return 3;
}
catch (DependencyUnreachableException ex)
{
    Console.Error.WriteLine($"Broker cannot start: {ex.Message}");
    return 4;
}
