using System.Net;
using System.Net.Sockets;

namespace Broker.Testing.Processes;

/// <summary>
/// Loopback ports for servers a test starts. A port is free when handed out, but it is released before the server
/// binds it, so another process can take it in between: every start that uses one retries with new ports when its
/// bind lost that race (<see cref="LostRace"/>).
/// </summary>
public static class FreePort
{
    /// <summary>How many times a start is tried with fresh ports before its bind failure is reported.</summary>
    public const int Attempts = 4;

    private static readonly HashSet<int> Handed = [];

    /// <summary>A loopback port nobody listens on now, never handed out twice in this process.</summary>
    public static int Next()
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            lock (Handed)
            {
                if (Handed.Add(port)) return port;
            }
        }
    }

    /// <summary>Whether a server's error or log says it could not bind its port (Kestrel, Orleans, Redis, PostgreSQL).</summary>
    public static bool LostRace(string? text) =>
        text is not null && (text.Contains("address already in use", StringComparison.OrdinalIgnoreCase)
            || text.Contains("could not bind", StringComparison.OrdinalIgnoreCase)
            || text.Contains("EADDRINUSE", StringComparison.Ordinal));

    /// <inheritdoc cref="LostRace(string?)"/>
    public static bool LostRace(Exception exception) =>
        exception is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } || LostRace(exception.ToString());
}
