namespace K8sTraining.Trainer.Hosting;

/// <summary>The trainer's exit codes, a contract with the operator.</summary>
public static class ExitCodes
{
    public const int Completed = 0;
    public const int Failed = 1;
    public const int Invalid = 2;

    /// <summary>
    /// The remote checkpoint store could not be reached during start-up or restore within the start-up retry budget
    /// (EX_UNAVAILABLE): infrastructure trouble, not the job's failure; retry later.
    /// </summary>
    public const int StorageUnavailable = 69;

    /// <summary>Interrupted after a durable checkpoint; a replacement resumes (EX_TEMPFAIL).</summary>
    public const int Resumable = 75;
}
