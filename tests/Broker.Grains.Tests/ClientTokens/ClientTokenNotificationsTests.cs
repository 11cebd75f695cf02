using Broker.Abstractions.Events;
using Broker.Grains.ClientTokens;

namespace Broker.Grains.Tests.ClientTokens;

public sealed class ClientTokenNotificationsTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(15);

    [Fact]
    public void The_first_refusal_fails_and_the_next_success_recovers_and_repeats_change_nothing()
    {
        var (failing, failed) = ClientTokenNotifications.Refused(ClientTokenHealth.Healthy, "invalid_client", Start, Window);
        Assert.Equal(new ClientTokenNotice(BrokerEventType.ClientTokenFailed, "invalid_client", 0), failed);
        Assert.Null(ClientTokenNotifications.Refused(failing, "invalid_client", Start.AddSeconds(1), Window).Emitted);

        var (healthy, recovered) = ClientTokenNotifications.Issued(failing, Start.AddSeconds(2), Window);
        Assert.Equal(new ClientTokenNotice(BrokerEventType.ClientTokenRecovered, null, 0), recovered);
        Assert.Null(ClientTokenNotifications.Issued(healthy, Start.AddSeconds(3), Window).Emitted);
        Assert.Null(ClientTokenNotifications.Issued(ClientTokenHealth.Healthy, Start, Window).Emitted);
    }

    [Fact]
    public void Ten_failures_and_recoveries_inside_the_window_emit_one_of_each_and_the_next_event_counts_the_rest()
    {
        var health = ClientTokenHealth.Healthy;
        var emitted = new List<ClientTokenNotice>();
        for (var i = 0; i < 10; i++)
        {
            var now = Start.AddSeconds(i * 10);
            (health, var failed) = ClientTokenNotifications.Refused(health, "invalid_client", now, Window);
            (health, var recovered) = ClientTokenNotifications.Issued(health, now.AddSeconds(5), Window);
            if (failed is not null) emitted.Add(failed);
            if (recovered is not null) emitted.Add(recovered);
        }
        Assert.Equal([BrokerEventType.ClientTokenFailed, BrokerEventType.ClientTokenRecovered], emitted.Select(n => n.Type));

        var (_, after) = ClientTokenNotifications.Refused(health, "invalid_client", Start + Window + TimeSpan.FromMinutes(1), Window);
        Assert.Equal(new ClientTokenNotice(BrokerEventType.ClientTokenFailed, "invalid_client", 18), after);
    }

    [Fact]
    public void A_zero_window_emits_every_transition()
    {
        var health = ClientTokenHealth.Healthy;
        var count = 0;
        for (var i = 0; i < 3; i++)
        {
            (health, var failed) = ClientTokenNotifications.Refused(health, "invalid_client", Start, TimeSpan.Zero);
            (health, var recovered) = ClientTokenNotifications.Issued(health, Start, TimeSpan.Zero);
            count += (failed is null ? 0 : 1) + (recovered is null ? 0 : 1);
        }
        Assert.Equal(6, count);
    }
}
