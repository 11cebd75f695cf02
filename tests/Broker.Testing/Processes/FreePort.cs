using System.Net;
using System.Net.Sockets;

namespace Broker.Testing.Processes;

public static class FreePort
{
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
}
