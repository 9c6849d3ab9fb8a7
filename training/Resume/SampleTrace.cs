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
        var line = System.Text.Encoding.UTF8.GetBytes(FormattableString.Invariant($"{epoch}:{string.Join(',', batch.Indices.Take(batch.Count))}\n"));
        // The ranks of a data-parallel job may share one trace file: .NET appends by seeking to the end (no O_APPEND), so
        // each line is written under an exclusive lock (FileShare.None is an flock on Unix), never interleaved or overwritten.
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                using var stream = new FileStream(_path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.None);
                stream.Seek(0, SeekOrigin.End);
                stream.Write(line);
                return;
            }
            catch (IOException) when (attempt < 1000 && File.Exists(_path))
            {
                Thread.Sleep(1);
            }
        }
    }
}
