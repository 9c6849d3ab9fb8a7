namespace K8sTraining.Operator.Tests.Integration;

/// <summary>Polls until a condition holds or a deadline passes; never a fixed sleep.</summary>
public static class Eventually
{
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

    public static Task<T> GetAsync<T>(Func<Task<T>> probe, Func<T, bool> done, string what) => GetAsync(probe, done, TimeSpan.FromSeconds(60), what);

    private static string Describe<T>(T value) => value is null ? "nothing" : k8s.KubernetesJson.Serialize(value);
}
