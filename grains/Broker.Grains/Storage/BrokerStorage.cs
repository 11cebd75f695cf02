namespace Broker.Grains.Storage;

/// <summary>The grain storage provider that holds every token family, client token and pending authorization.</summary>
public static class BrokerStorage
{
    public const string Name = "broker";
}
