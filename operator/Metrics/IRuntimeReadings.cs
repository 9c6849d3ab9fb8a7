namespace K8sTraining.Operator.Metrics;

/// <summary>What the runtime reports to the metrics at each scrape: whether this replica leads, its work queue, its watches.</summary>
public interface IRuntimeReadings
{
    bool IsLeader { get; }

    /// <summary>Keys waiting in the work queue (0 while not leading).</summary>
    int QueueLength { get; }

    /// <summary>Watches of TrainingJobs and pods restarted since this replica started leading.</summary>
    int WatchRestarts { get; }
}
