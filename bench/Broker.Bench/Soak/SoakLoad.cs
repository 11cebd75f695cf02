using System.Diagnostics;
using Broker.V1;
using Grpc.Core;

namespace Broker.Bench.Soak;

/// <summary>
/// Cache hits at a fixed rate (open loop: calls start on schedule whatever the answers do), each to the next
/// routable silo, for a random family. A call fails when the broker refuses it or serves a token already expired.
/// </summary>
public sealed class SoakLoad(SoakCluster cluster, SoakOptions options)
{
    private SoakTally _current = new();

    /// <summary>Takes the interval's tally and starts a new one.</summary>
    public SoakTally Swap() => Interlocked.Exchange(ref _current, new SoakTally());

    public static string Subject(int family) => $"soak-user-{family}";

    public async Task<SoakTally> CallAsync(int family, SoakTally? into = null)
    {
        var tally = into ?? _current;
        var slot = cluster.Pick();
        if (slot?.Process is not { } silo)
        {
            tally.Failed("-", "NO_READY_SILO");
            return tally;
        }
        var started = DateTimeOffset.UtcNow;
        try
        {
            var token = await silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = SoakCluster.Provider, Subject = Subject(family) },
                deadline: DateTime.UtcNow.AddSeconds(30));
            // Expired when the call was made, not merely by the time a slow answer arrived.
            if (token.ExpiresAt.ToDateTimeOffset() <= started) tally.Failed(slot.Name, "EXPIRED_TOKEN_SERVED");
            else tally.Succeeded(slot.Name);
        }
        catch (RpcException ex)
        {
            tally.Failed(slot.Name, Cause(ex));
        }
        catch (ObjectDisposedException)
        {
            tally.Failed(slot.Name, "CHANNEL_CLOSED"); // the silo was replaced while the call was on its way
        }
        catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException or IOException)
        {
            tally.Failed(slot.Name, ex.GetType().Name);
        }
        return tally;
    }

    public static string Cause(RpcException ex)
    {
        var info = ex.GetRpcStatus()?.GetDetail<Google.Rpc.ErrorInfo>();
        if (info is not { Reason.Length: > 0 }) return ex.StatusCode.ToString();
        // The detail tells a provider outage from a cluster or storage one (all PROVIDER_UNAVAILABLE).
        return info.Metadata.TryGetValue("detail", out var detail) && detail.Length is > 0 and < 40
            ? $"{ex.StatusCode}/{info.Reason}/{detail}" : $"{ex.StatusCode}/{info.Reason}";
    }

    /// <summary>Calls at <paramref name="rate"/> per second until <paramref name="stop"/>; then waits for the calls in flight.</summary>
    public async Task RunAsync(double rate, CancellationToken stop)
    {
        using var inFlight = new SemaphoreSlim(options.MaxInFlight, options.MaxInFlight);
        var clock = Stopwatch.StartNew();
        long started = 0;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                var due = (long)(rate * clock.Elapsed.TotalSeconds);
                for (; started < due; started++)
                {
                    if (!inFlight.Wait(0))
                    {
                        _current.WasShed();
                        continue;
                    }
                    var family = Random.Shared.Next(options.Families);
                    _ = Task.Run(async () =>
                    {
                        try
                        {
                            await CallAsync(family);
                        }
                        finally
                        {
                            inFlight.Release();
                        }
                    });
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        for (var i = 0; i < options.MaxInFlight; i++) await inFlight.WaitAsync();
    }
}
