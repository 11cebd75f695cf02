using System.Net;
using Broker.Silo.Cluster;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Silo.Tests.Cluster;

/// <summary>When a silo judges that it left its cluster: the rules, on a fake clock.</summary>
public sealed class ClusterMembershipTests
{
    private static readonly SiloAddress Self = SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 11111), 1);
    private static readonly SiloAddress Other = SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 11112), 1);
    private readonly FakeTimeProvider _clock = new();
    private readonly ClusterMembership _membership;

    public ClusterMembershipTests() =>
        _membership = new ClusterMembership(_clock, Options.Create(new MembershipWatchOptions { UnreadableLimit = TimeSpan.FromSeconds(30) }));

    private static MembershipTableData Table(int version, params (SiloAddress Silo, SiloStatus Status)[] members) => new(
        members.Select(m => Tuple.Create(new MembershipEntry { SiloAddress = m.Silo, Status = m.Status }, "etag")).ToList(),
        new TableVersion(version, $"v{version}"));

    [Fact]
    public void A_silo_listed_active_belongs_as_the_table_grows()
    {
        _membership.Observe(Table(3, (Self, SiloStatus.Active)), Self);
        _membership.Observe(Table(4, (Self, SiloStatus.Active), (Other, SiloStatus.Active)), Self);

        Assert.False(_membership.IsLost);
    }

    [Fact]
    public void An_entry_gone_from_the_table_means_the_silo_left()
    {
        _membership.Observe(Table(3, (Self, SiloStatus.Active)), Self);

        _membership.Observe(Table(3, (Other, SiloStatus.Active)), Self);

        Assert.Contains("entry is gone", _membership.LostBecause);
    }

    [Fact]
    public void A_silo_that_left_refuses_calls_as_unavailable_and_retryable_elsewhere()
    {
        _membership.Observe(Table(3, (Self, SiloStatus.Active)), Self);
        _membership.ThrowIfLost();

        _membership.Observe(Table(3, (Other, SiloStatus.Active)), Self);

        var refused = Assert.Throws<Broker.Abstractions.BrokerException>(_membership.ThrowIfLost);
        Assert.Equal((Broker.Abstractions.BrokerErrorReason.ProviderUnavailable, "silo_leaving"), (refused.Reason, refused.Detail));
        Assert.NotNull(refused.RetryAfter);
    }

    [Fact]
    public void A_table_that_went_back_to_an_older_version_lost_data_even_if_the_entry_came_back()
    {
        _membership.Observe(Table(7, (Self, SiloStatus.Active)), Self);

        _membership.Observe(Table(1, (Self, SiloStatus.Active)), Self);

        Assert.Contains("went back from version 7 to 1", _membership.LostBecause);
    }

    [Fact]
    public void An_entry_that_says_dead_means_the_silo_left()
    {
        _membership.Observe(Table(2, (Self, SiloStatus.Dead)), Self);

        Assert.Contains("Dead", _membership.LostBecause);
    }

    [Fact]
    public void An_unreadable_table_is_ridden_out_until_the_limit_and_a_good_read_resets_it()
    {
        _membership.ObserveFailure();
        _clock.Advance(TimeSpan.FromSeconds(30) - TimeSpan.FromMilliseconds(1));
        _membership.ObserveFailure();
        Assert.False(_membership.IsLost);

        _membership.Observe(Table(2, (Self, SiloStatus.Active)), Self);
        _clock.Advance(TimeSpan.FromSeconds(20));
        _membership.ObserveFailure();
        _clock.Advance(TimeSpan.FromSeconds(29));
        _membership.ObserveFailure();
        Assert.False(_membership.IsLost);

        _clock.Advance(TimeSpan.FromSeconds(1));
        _membership.ObserveFailure();
        Assert.Contains("unreadable", _membership.LostBecause);
    }
}
