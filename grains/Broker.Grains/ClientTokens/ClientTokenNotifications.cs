using Broker.Abstractions.Events;

namespace Broker.Grains.ClientTokens;

/// <summary>Whether a client token's last request failed, and flapping control's memory: stored with the token.</summary>
[GenerateSerializer, Immutable]
public sealed record ClientTokenHealth(
    [property: Id(0)] bool Failing,
    [property: Id(1)] DateTimeOffset? LastFailureNoticeAt,
    [property: Id(2)] DateTimeOffset? LastRecoveryNoticeAt,
    [property: Id(3)] int SuppressedNotices)
{
    public static ClientTokenHealth Healthy { get; } = new(false, null, null, 0);
}

/// <summary>One event a client token emits, with how many transitions flapping control left out before it.</summary>
public sealed record ClientTokenNotice(BrokerEventType Type, string? Reason, int Suppressed);

/// <summary>
/// Which outcome of a client-credentials request is which event: the first definite refusal is client_token.failed, the
/// first success after it client_token.recovered. Flapping control as for families: one failure and one recovery per
/// window, the rest counted on the next event emitted. Pure.
/// </summary>
public static class ClientTokenNotifications
{
    public static (ClientTokenHealth Health, ClientTokenNotice? Emitted) Refused(ClientTokenHealth health, string reason, DateTimeOffset now, TimeSpan window)
    {
        if (health.Failing) return (health, null);
        if (Within(health.LastFailureNoticeAt, now, window))
            return (health with { Failing = true, SuppressedNotices = health.SuppressedNotices + 1 }, null);
        return (health with { Failing = true, LastFailureNoticeAt = now, SuppressedNotices = 0 },
            new ClientTokenNotice(BrokerEventType.ClientTokenFailed, reason, health.SuppressedNotices));
    }

    public static (ClientTokenHealth Health, ClientTokenNotice? Emitted) Issued(ClientTokenHealth health, DateTimeOffset now, TimeSpan window)
    {
        if (!health.Failing) return (health, null);
        if (Within(health.LastRecoveryNoticeAt, now, window))
            return (health with { Failing = false, SuppressedNotices = health.SuppressedNotices + 1 }, null);
        return (health with { Failing = false, LastRecoveryNoticeAt = now, SuppressedNotices = 0 },
            new ClientTokenNotice(BrokerEventType.ClientTokenRecovered, null, health.SuppressedNotices));
    }

    private static bool Within(DateTimeOffset? last, DateTimeOffset now, TimeSpan window) =>
        window > TimeSpan.Zero && last is { } at && now - at < window;
}
