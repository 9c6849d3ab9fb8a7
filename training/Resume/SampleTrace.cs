using K8sTraining.Training.Loop;

namespace K8sTraining.Training.Resume;

/// <summary>
/// Test-only: with <see cref="EnvironmentVariable"/> set to a file, each training batch appends one line
/// "EPOCH:i,j,k" (its samples' data set indices), so a test can check which samples an epoch saw across attempts.
/// </summary>
public sealed class SampleTrace
{
    /// <summary>The file to append to; unset: no trace.</summary>
    public const string EnvironmentVariable = "K8STRAINING_TEST_SAMPLE_TRACE";

    private readonly string _path;

    private SampleTrace(string path) => _path = path;

    /// <summary>The trace the environment asks for, or null.</summary>
    public static SampleTrace? FromEnvironment() =>
        Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } path ? new SampleTrace(path) : null;

    public void Append(int epoch, LoadedBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var line = FormattableString.Invariant($"{epoch}:{string.Join(',', batch.Indices.Take(batch.Count))}\n");
        File.AppendAllText(_path, line);
    }
}
