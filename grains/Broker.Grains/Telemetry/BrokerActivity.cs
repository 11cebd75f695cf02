using System.Diagnostics;

namespace Broker.Grains.Telemetry;

/// <summary>The broker's own spans. Tags: provider, hashed family, cause and outcome; never a subject in clear or a token.</summary>
public static class BrokerActivity
{
    public const string SourceName = "Broker";

    public static readonly ActivitySource Source = new(SourceName);
}
