using System.CommandLine;
using Broker.Abstractions.Identity;
using Broker.Ops.Cluster;
using Broker.Ops.Output;
using Microsoft.Extensions.Configuration;

namespace Broker.Ops.Commands;

/// <summary>
/// <c>families log-id PROVIDER SUBJECT</c>: the keyed id logs, traces and audit events name the family by, computed from
/// the silos' own <c>Broker:Encryption</c> settings (no cluster needed), so an operator can find a user's family in them.
/// </summary>
public static class LogIdCommand
{
    public static Command Create(OpsContext ops)
    {
        var provider = new Argument<string>("provider");
        var subject = new Argument<string>("subject");
        var command = new Command("log-id", "The family's id in logs, traces and audit events (needs the silos' Broker:Encryption keys).") { provider, subject };
        command.SetAction((result, _) => OpsContext.GuardAsync(() =>
        {
            if (!ProviderName.TryParse(result.GetValue(provider), out var p) || !Subject.TryParse(result.GetValue(subject), out var s))
                throw new OpsException("provider or subject is malformed.", ExitCodes.Configuration);
            var id = new FamilyLogId(PrimaryKey(ops.Configuration)).Of(new FamilyKey(p, s));
            Report.Write(Console.Out, result.GetValue(ops.Json), ["provider", "log_id"], [[p.Value, id]]);
            return Task.FromResult(ExitCodes.Ok);
        }));
        return command;
    }

    /// <summary>The silos' primary key: <c>PrimaryKeyId</c>, or the only key; its <c>Key</c> or <c>KeyFile</c>, 32 bytes base64.</summary>
    private static byte[] PrimaryKey(IConfiguration configuration)
    {
        const string section = "Broker:Encryption";
        var keys = configuration.GetSection($"{section}:Keys").GetChildren().ToList();
        var primaryId = configuration[$"{section}:PrimaryKeyId"];
        var primary = primaryId is null
            ? keys.Count == 1 ? keys[0] : null
            : keys.FirstOrDefault(k => k["Id"] == primaryId);
        if (primary is null)
            throw new OpsException($"{section}:Keys (and {section}:PrimaryKeyId with several keys) must name the silos' primary key.", ExitCodes.Configuration);
        var encoded = primary["Key"] ?? (primary["KeyFile"] is { } file && File.Exists(file) ? File.ReadAllText(file).Trim() : null);
        var key = new byte[64];
        if (encoded is null || !Convert.TryFromBase64String(encoded, key, out var length) || length != 32)
            throw new OpsException($"{section}:Keys:{primary.Key}: Key or KeyFile must hold 32 bytes, base64-encoded.", ExitCodes.Configuration);
        return key[..32];
    }
}
