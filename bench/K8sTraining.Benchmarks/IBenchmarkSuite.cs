namespace K8sTraining.Benchmarks;

/// <summary>One group of side-by-side measurements that `make bench` runs; each prints its own table of ratios.</summary>
public interface IBenchmarkSuite
{
    /// <summary>Short name used to pick suites: <c>make bench BENCH_ARGS="trainer storage"</c>.</summary>
    string Name { get; }

    Task RunAsync(BenchmarkContext context, CancellationToken cancellationToken);
}

/// <summary>Where things are: the repository root, the published programs, a scratch folder for this run.</summary>
public sealed record BenchmarkContext(string RepositoryRoot, string ScratchDirectory)
{
    public string PublishDirectory => Path.Combine(RepositoryRoot, ".local", "publish");
}
