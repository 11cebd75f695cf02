using Microsoft.Extensions.Options;

namespace Broker.Silo.Cluster;

/// <summary>
/// Whether this silo still belongs to the cluster it joined, judged from what the membership table says about it.
/// A table that lost its data (Redis restarted empty) no longer lists the silo, or went back to an older version;
/// a silo that goes on serving then forms a second cluster beside the silos that join the empty table, and two
/// activations of one family can each hand out tokens the other revoked. So the silo stops serving at once and
/// exits, and its supervisor starts it again into the one cluster. Plain rules, no I/O: <see cref="MembershipWatch"/>
/// feeds it.
/// </summary>
public sealed class ClusterMembership(TimeProvider time, IOptions<MembershipWatchOptions> options)
{
    private long _highestVersion = -1;
    private DateTimeOffset? _unreadableSince;
    private volatile string? _lostBecause;

    /// <summary>Why this silo left its cluster, once it has; null while it belongs.</summary>
    public string? LostBecause => _lostBecause;

    public bool IsLost => _lostBecause is not null;

    /// <summary>
    /// A silo that left its cluster answers nothing but UNAVAILABLE (safe to retry elsewhere) while it stops: what it
    /// holds in memory may have been revoked or rotated by the cluster it no longer sees.
    /// </summary>
    public void ThrowIfLost()
    {
        if (_lostBecause is not null)
        {
            throw new Broker.Abstractions.BrokerException(Broker.Abstractions.BrokerErrorReason.ProviderUnavailable,
                "this silo left its cluster and is restarting; retry on another silo.", TimeSpan.FromSeconds(1)) { Detail = "silo_leaving" };
        }
    }

    /// <summary>A read of the table while this silo believes itself active.</summary>
    public void Observe(MembershipTableData table, SiloAddress self)
    {
        _unreadableSince = null;
        var version = table.Version.Version;
        if (version < _highestVersion)
        {
            Lose($"the membership table went back from version {_highestVersion} to {version}: its store lost data");
            return;
        }
        _highestVersion = version;
        var mine = table.Members.Select(m => m.Item1).FirstOrDefault(e => e.SiloAddress.Equals(self));
        if (mine is null) Lose("this silo's entry is gone from the membership table");
        else if (mine.Status != SiloStatus.Active) Lose($"the membership table says this silo is {mine.Status}");
    }

    /// <summary>A read of the table failed: after <see cref="MembershipWatchOptions.UnreadableLimit"/> of failures the silo leaves.</summary>
    public void ObserveFailure()
    {
        var now = time.GetUtcNow();
        _unreadableSince ??= now;
        if (now - _unreadableSince.Value >= options.Value.UnreadableLimit)
            Lose($"the membership table has been unreadable for {options.Value.UnreadableLimit}");
    }

    private void Lose(string why) => _lostBecause ??= why;
}

/// <summary>How a cluster silo checks its own membership: <c>Broker:Cluster:MembershipWatch</c>.</summary>
public sealed class MembershipWatchOptions
{
    public const string Section = "Broker:Cluster:MembershipWatch";

    /// <summary>How often the silo reads the membership table: the longest it serves after its entry is gone.</summary>
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long the table may stay unreadable before the silo leaves (short Redis outages are ridden out).</summary>
    public TimeSpan UnreadableLimit { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long a leaving silo may take to stop before the process exits regardless.</summary>
    public TimeSpan ExitTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

public sealed class MembershipWatchOptionsValidator : IValidateOptions<MembershipWatchOptions>
{
    public ValidateOptionsResult Validate(string? name, MembershipWatchOptions options)
    {
        var failures = new Broker.Abstractions.Settings.SettingFailures(MembershipWatchOptions.Section);
        if (options.CheckInterval <= TimeSpan.Zero) failures.Add(nameof(options.CheckInterval), "must be positive.");
        if (options.UnreadableLimit < options.CheckInterval) failures.Add(nameof(options.UnreadableLimit), $"must be at least {failures.Path(nameof(options.CheckInterval))}.");
        if (options.ExitTimeout <= TimeSpan.Zero) failures.Add(nameof(options.ExitTimeout), "must be positive.");
        return failures.Result;
    }
}
