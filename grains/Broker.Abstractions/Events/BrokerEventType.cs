namespace Broker.Abstractions.Events;

/// <summary>What happened to a family or a client token. The numbers are stored: never renumber, only add.</summary>
public enum BrokerEventType
{
    FamilyAuthorized = 1,
    FamilyReauthorizationRequired = 2,
    FamilyRecovered = 3,
    FamilyRevoked = 4,
    FamilyReuseDetected = 5,
    FamilyStateUnreadable = 6,
    FamilyRefreshed = 7,
    ClientTokenFailed = 8,
    ClientTokenRecovered = 9,
}

/// <summary>The names receivers see (the <c>type</c> of a webhook payload and of a WatchEvents message): one place.</summary>
public static class BrokerEventNames
{
    public static string Of(BrokerEventType type) => type switch
    {
        BrokerEventType.FamilyAuthorized => "family.authorized",
        BrokerEventType.FamilyReauthorizationRequired => "family.reauthorization_required",
        BrokerEventType.FamilyRecovered => "family.recovered",
        BrokerEventType.FamilyRevoked => "family.revoked",
        BrokerEventType.FamilyReuseDetected => "family.reuse_detected",
        BrokerEventType.FamilyStateUnreadable => "family.state_unreadable",
        BrokerEventType.FamilyRefreshed => "family.refreshed",
        BrokerEventType.ClientTokenFailed => "client_token.failed",
        BrokerEventType.ClientTokenRecovered => "client_token.recovered",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    public static BrokerEventType? Parse(string name)
    {
        foreach (var type in Enum.GetValues<BrokerEventType>())
        {
            if (Of(type) == name) return type;
        }
        return null;
    }
}
