using K8sTraining.Training.Loop;

namespace K8sTraining.Training.Progress;

/// <summary>Fans progress out to every observer (view, metrics, CSV and text logs, plots), in order.</summary>
public sealed class CompositeObserver(IReadOnlyList<ITrainingObserver> observers) : ITrainingObserver
{
    private int _ended;

    public void OnStart(TrainingRunInfo run)
    {
        foreach (var o in observers)
        {
            o.OnStart(run);
        }
    }

    public void OnStep(TrainingProgress progress)
    {
        foreach (var o in observers)
        {
            o.OnStep(progress);
        }
    }

    public void OnEpochEnd(EpochMetrics metrics, TrainingProgress progress)
    {
        foreach (var o in observers)
        {
            o.OnEpochEnd(metrics, progress);
        }
    }

    public void OnMessage(string message)
    {
        foreach (var o in observers)
        {
            o.OnMessage(message);
        }
    }

    public void OnEnd(TrainingEnd end)
    {
        // Once per attempt, whoever reports it (the host does; a loop may too).
        if (Interlocked.Exchange(ref _ended, 1) == 1)
        {
            return;
        }
        foreach (var o in observers)
        {
            o.OnEnd(end);
        }
    }
}
