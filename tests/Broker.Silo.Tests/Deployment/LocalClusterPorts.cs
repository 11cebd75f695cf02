namespace Broker.Silo.Tests.Deployment;

/// <summary>Ports for compose/local-cluster.sh: silo i uses gRPC 5300+i, HTTP 5380+i, silo 11111+i, gateway 30000+i, plus an offset.</summary>
public static class LocalClusterPorts
{
    /// <summary>An offset at which every port of <paramref name="silos"/> silos is free now, below the ephemeral range.</summary>
    public static int FreeOffset(int silos)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var offset = Random.Shared.Next(20, 2700);
            var ports = Enumerable.Range(0, silos).SelectMany(i => new[] { 5300, 5380, 11111, 30000 }.Select(b => b + offset + i));
            if (ports.All(IsFree)) return offset;
        }
        throw new InvalidOperationException("no port offset with every port free");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }
}
