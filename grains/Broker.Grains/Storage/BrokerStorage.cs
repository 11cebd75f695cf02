namespace Broker.Grains.Storage;

/// <summary>The grain storage provider that holds every token family, client token and pending authorization.</summary>
public static class BrokerStorage
{
    public const string Name = "broker";

    /// <summary>The provider under <see cref="AuthenticatedGrainStorage"/> that keeps the sealed rows (cluster mode).</summary>
    public const string Rows = "broker-rows";
}
