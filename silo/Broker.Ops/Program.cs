using System.CommandLine;
using Broker.Ops.Commands;
using Microsoft.Extensions.Configuration;

// broker-ops: reads the cluster's own settings (appsettings.json here, Broker__... environment variables,
// or --settings FILE) and talks to the cluster as an Orleans client. Exit codes: 0 ok, 1 failed,
// 2 configuration, 3 not found, 4 unreachable.
var settingsFile = args.SkipWhile(a => a != "--settings").Skip(1).FirstOrDefault();
var configuration = new ConfigurationBuilder()
    .AddJsonFile(Path.GetFullPath("appsettings.json"), optional: true)
    .AddJsonFile(settingsFile is null ? "none.json" : Path.GetFullPath(settingsFile), optional: settingsFile is null)
    .AddEnvironmentVariables()
    .Build();

var ops = new OpsContext(configuration);
var root = new RootCommand("broker-ops: operate a Broker cluster (families, keys, providers, silos, event dead letters).");
root.Options.Add(ops.Json);
root.Options.Add(new Option<string?>("--settings") { Description = "A JSON settings file (same keys as the silo's appsettings.json).", Recursive = true });
root.Subcommands.Add(FamilyCommands.Create(ops));
root.Subcommands.Add(KeyCommands.Create(ops));
root.Subcommands.Add(ProviderCommands.Create(ops));
root.Subcommands.Add(ClusterCommands.Create(ops));
root.Subcommands.Add(EventCommands.Create(ops));
return await root.Parse(args).InvokeAsync();
