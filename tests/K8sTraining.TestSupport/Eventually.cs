using System.Text.Json;

namespace K8sTraining.TestSupport;

/// <summary>Polls a condition until it holds or a deadline passes: tests never sleep for a fixed time.</summary>
public static class Eventually
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(20);

    /// <summary>Waits until <paramref name="condition"/> holds (checked every 10 ms).</summary>
    public static async Task TrueAsync(Func<bool> condition, TimeSpan? timeout = null, string? what = null)
    {
        var wait = timeout ?? DefaultTimeout;
        var deadline = DateTime.UtcNow + wait;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {wait.TotalSeconds:0.#}s waiting for {what ?? "condition"}.");
            }

            await Task.Delay(10);
        }
    }

    /// <summary>Waits until the asynchronous <paramref name="condition"/> holds (checked every 50 ms).</summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var wait = timeout ?? DefaultTimeout;
        var deadline = DateTime.UtcNow + wait;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {wait.TotalSeconds:0.#}s waiting for {what}.");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Waits until <paramref name="probe"/> returns a value, and returns it.</summary>
    public static async Task<T> ValueAsync<T>(Func<T?> probe, TimeSpan? timeout = null, string? what = null)
        where T : struct
    {
        var wait = timeout ?? DefaultTimeout;
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            if (probe() is { } value)
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {wait.TotalSeconds:0.#}s waiting for {what ?? "condition"}.");
            }

            await Task.Delay(25);
        }
    }

    /// <summary>Waits until the asynchronous <paramref name="probe"/> returns a value, and returns it.</summary>
    public static async Task<T> ValueAsync<T>(Func<Task<T?>> probe, TimeSpan? timeout = null, string? what = null)
        where T : class
    {
        var wait = timeout ?? DefaultTimeout;
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            if (await probe() is { } value)
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {wait.TotalSeconds:0.#}s waiting for {what ?? "condition"}.");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>
    /// Probes until <paramref name="done"/> accepts what it returned, and returns that. A probe that throws (a server
    /// still starting) is tried again; a failed assertion inside it is not. On timeout the message shows the last value.
    /// </summary>
    public static async Task<T> GetAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        T last = default!;
        Exception? lastError = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                last = await probe();
                if (done(last))
                {
                    return last;
                }
            }
            catch (Exception e) when (e is not Xunit.Sdk.XunitException)
            {
                lastError = e;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0}s waiting for {what}; last seen: {Describe(last)}", lastError);
    }

    /// <summary><see cref="GetAsync{T}(Func{Task{T}}, Func{T, bool}, TimeSpan, string)"/> with a 60 s deadline.</summary>
    public static Task<T> GetAsync<T>(Func<Task<T>> probe, Func<T, bool> done, string what) => GetAsync(probe, done, TimeSpan.FromSeconds(60), what);

    private static string Describe<T>(T value)
    {
        if (value is null)
        {
            return "nothing";
        }

        try
        {
            return JsonSerializer.Serialize(value);
        }
        catch (Exception e) when (e is NotSupportedException or JsonException or InvalidOperationException)
        {
            return value.ToString() ?? typeof(T).Name;
        }
    }
}
