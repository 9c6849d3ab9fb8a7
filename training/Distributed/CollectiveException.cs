namespace K8sTraining.Training.Distributed;

/// <summary>A collective operation failed: a peer vanished, the rendezvous or an operation timed out, or the engine reported an error.</summary>
public sealed class CollectiveException : Exception
{
    public CollectiveException()
    {
    }

    public CollectiveException(string message)
        : base(message)
    {
    }

    public CollectiveException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
