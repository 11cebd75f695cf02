namespace Broker.Testing;

/// <summary>Real concurrency for tests: many calls released at the same instant.</summary>
public static class Concurrently
{
    public static async Task<T[]> RunAsync<T>(int count, Func<int, Task<T>> call)
    {
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = Enumerable.Range(0, count).Select(async i =>
        {
            await start.Task;
            return await call(i);
        }).ToList();
        start.SetResult();
        return await Task.WhenAll(calls);
    }
}
