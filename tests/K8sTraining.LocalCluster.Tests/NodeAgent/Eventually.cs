namespace K8sTraining.LocalCluster.Tests.NodeAgent;

/// <summary>Polls a condition until it holds or a deadline passes: no fixed sleeps in tests.</summary>
internal static class Eventually
{
    public static async Task TrueAsync(Func<bool> condition, TimeSpan? timeout = null, string? what = null)
    {
        await ValueAsync(() => condition() ? true : (bool?)null, timeout, what);
    }

    public static async Task<T> ValueAsync<T>(Func<T?> probe, TimeSpan? timeout = null, string? what = null)
        where T : struct
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            if (probe() is { } value)
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Not reached in time: {what ?? "condition"}");
            }

            await Task.Delay(25);
        }
    }

    public static async Task<T> ValueAsync<T>(Func<Task<T?>> probe, TimeSpan? timeout = null, string? what = null)
        where T : class
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            if (await probe() is { } value)
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Not reached in time: {what ?? "condition"}");
            }

            await Task.Delay(50);
        }
    }
}
