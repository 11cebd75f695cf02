namespace Broker.Silo.Api;

/// <summary>
/// Retries an idempotent grain call that failed because its silo died or left: the directory learns of the
/// death within moments and the next attempt activates the grain elsewhere. Only for reads whose grain
/// is itself single-flight (GetAccessToken, GetClientToken, DescribeFamily): a second attempt can at most
/// join or repeat a cache lookup.
/// </summary>
internal static class ClusterRetry
{
    private static readonly TimeSpan[] Delays = [TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(900), TimeSpan.FromSeconds(2)];

    public static async Task<T> RunAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (Exception ex) when (attempt < Delays.Length && IsSiloLoss(ex) && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(Delays[attempt], cancellationToken);
            }
        }
    }

    private static bool IsSiloLoss(Exception ex) =>
        ex is SiloUnavailableException or OrleansMessageRejectionException or Orleans.Runtime.Messaging.ConnectionFailedException;
}
