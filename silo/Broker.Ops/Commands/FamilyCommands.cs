using System.CommandLine;
using Broker.Abstractions.Grains;
using Broker.Abstractions.Identity;
using Broker.Abstractions.Tokens;
using Broker.Ops.Cluster;
using Broker.Ops.Output;
using Broker.Ops.Storage;

namespace Broker.Ops.Commands;

/// <summary><c>families list | describe | refresh | revoke | mark-reauth</c>: one family at a time, through its grain.</summary>
public static class FamilyCommands
{
    private static readonly string[] Columns = ["provider", "subject", "status", "reason", "access_expires", "refreshes", "last_refresh"];

    public static Command Create(OpsContext ops)
    {
        var families = new Command("families", "Token families: list, describe, force a refresh, revoke, mark for reauthorization.");

        var provider = new Option<string?>("--provider") { Description = "Only this provider." };
        var status = new Option<string?>("--status") { Description = "Only this status: active, reauthorization_required, revoked." };
        var after = new Option<string?>("--after") { Description = "Start after this grain key (the 'next' of the previous page)." };
        var limit = new Option<int>("--limit") { Description = "Families per page.", DefaultValueFactory = _ => 50 };
        var list = new Command("list", "List stored families, a page at a time.") { provider, status, after, limit };
        list.SetAction((result, cancellationToken) => ops.RunAsync(result, async (connection, storage, json) =>
        {
            // One key more than asked: whether it exists says if there is a next page.
            var size = Math.Clamp(result.GetValue(limit), 1, 1000);
            var fetched = await storage.PageAsync(StoredGrains.Families, result.GetValue(after), size + 1, cancellationToken);
            var page = fetched.Take(size).ToList();
            var rows = new List<IReadOnlyList<object?>>();
            foreach (var key in page)
            {
                var family = FamilyKey.FromGrainKey(key);
                if (result.GetValue(provider) is { } p && family.Provider.Value != p) continue;
                var description = await connection.Grains.GetGrain<ITokenFamilyGrain>(key).Describe();
                var row = Row(description);
                if (result.GetValue(status) is { } s && (string?)row[2] != s) continue;
                rows.Add(row);
            }
            Report.Write(Console.Out, json, Columns, rows, new { next = fetched.Count > size ? page[^1] : null, listed = rows.Count });
            return ExitCodes.Ok;
        }));
        families.Subcommands.Add(list);

        families.Subcommands.Add(OnOne(ops, "describe", "Show one family.", (grain, _) => Task.CompletedTask));
        families.Subcommands.Add(OnOne(ops, "refresh", "Force a refresh now (one upstream request, whatever the token's age).",
            (grain, cancellationToken) => grain.GetAccessToken(TimeSpan.Zero, forceRefresh: true)));
        families.Subcommands.Add(OnOne(ops, "revoke", "Revoke upstream (RFC 7009) and forget the tokens.", (grain, _) => grain.Revoke()));
        families.Subcommands.Add(OnOne(ops, "mark-reauth", "Stop serving the family until the user authorizes again.",
            (grain, _) => grain.MarkReauthorizationRequired()));
        families.Subcommands.Add(LogIdCommand.Create(ops));
        return families;
    }

    /// <summary>A command on one family: act, then show what the family looks like afterwards (never a token).</summary>
    private static Command OnOne(OpsContext ops, string name, string description, Func<ITokenFamilyGrain, CancellationToken, Task> act)
    {
        var provider = new Argument<string>("provider");
        var subject = new Argument<string>("subject");
        var command = new Command(name, description) { provider, subject };
        command.SetAction((result, cancellationToken) => ops.RunAsync(result, async (connection, _, json) =>
        {
            if (!ProviderName.TryParse(result.GetValue(provider), out var p) || !Subject.TryParse(result.GetValue(subject), out var s))
                throw new OpsException("provider or subject is malformed.", ExitCodes.Configuration);
            var grain = connection.Grains.GetGrain<ITokenFamilyGrain>(new FamilyKey(p, s).ToGrainKey());
            await act(grain, cancellationToken);
            var after = await grain.Describe();
            if (after.Status == FamilyStatus.None) throw new OpsException("no such family.", ExitCodes.NotFound);
            Report.Write(Console.Out, json, Columns, [Row(after)]);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static IReadOnlyList<object?> Row(FamilyDescription d) =>
    [
        d.Key.Provider.Value,
        d.Key.Subject.Value,
        FamilyWireNames.Of(d.Status),
        FamilyWireNames.Of(d.StatusReason),
        d.AccessTokenExpiresAt?.ToString("u", System.Globalization.CultureInfo.InvariantCulture),
        d.RefreshCount,
        d.LastRefreshAt?.ToString("u", System.Globalization.CultureInfo.InvariantCulture),
    ];
}
