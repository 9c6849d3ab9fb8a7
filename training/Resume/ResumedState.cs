using K8sTraining.Training.Loop;
using K8sTraining.Training.Options;
using K8sTraining.Training.Tasks;

namespace K8sTraining.Training.Resume;

/// <summary>
/// A checkpoint's state taken over by a resume under changed parameters: the request <see cref="ResumeChanges"/>
/// decides on, and the state the run continues with once it accepted (the flags' configuration recorded, the changes
/// appended to the lineage, the sample position made explicit).
/// </summary>
public static class ResumedState
{
    /// <summary>What resuming <paramref name="saved"/> under <paramref name="options"/> asks for.</summary>
    public static ResumeRequest Request(TrainingState saved, TrainingConfiguration requested, TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(saved);
        ArgumentNullException.ThrowIfNull(requested);
        ArgumentNullException.ThrowIfNull(options);
        return new ResumeRequest(
            saved.Configuration,
            requested,
            saved.Epochs,
            options.Epochs,
            saved.Epoch,
            saved.StepInEpoch,
            EpochPosition.SampleInEpoch(saved),
            saved.GlobalStep,
            saved.LearningRateScale ?? 1,
            saved.EpochDatasetSize,
            options.Reconfigure,
            options.ScaleLrWithBatch);
    }

    /// <summary>The state to continue from after <paramref name="decision"/> accepted the resume.</summary>
    public static TrainingState Apply(TrainingState saved, ResumeDecision decision, TrainingConfiguration requested, int epochs)
    {
        ArgumentNullException.ThrowIfNull(saved);
        ArgumentNullException.ThrowIfNull(decision);
        if (decision.Refusal is not null)
        {
            throw new InvalidOperationException("A refused resume has no state to continue from.");
        }
        var state = saved with
        {
            Configuration = requested,
            Lineage = [.. saved.Lineage, .. decision.Changes],
        };
        state.SampleInEpoch = EpochPosition.SampleInEpoch(saved);
        state.Epochs = epochs;
        // Stays null (and the learning rate untouched, bit for bit) until a scaling happens.
        state.LearningRateScale = saved.LearningRateScale is null && decision.LearningRateScale == 1 ? null : decision.LearningRateScale;
        state.EpochDatasetSize = decision.EpochDatasetSize;
        return state;
    }

    /// <summary>The lines a person reads about an accepted resume's changes.</summary>
    public static IEnumerable<string> Describe(ResumeDecision decision, int epoch)
    {
        ArgumentNullException.ThrowIfNull(decision);
        foreach (var change in decision.Changes)
        {
            yield return $"Resume changes {change.Field} from {change.From} to {change.To} at global step {change.GlobalStep} (sample {change.SampleInEpoch} of epoch {epoch}); recorded in the checkpoint's lineage";
        }
        if (decision.RebuildsSchedule)
        {
            yield return "The schedule is rebuilt for the new settings and continues from the current position";
        }
        if (decision.EpochDatasetSize is { } size)
        {
            yield return $"Epoch {epoch} finishes over its {size} samples; the new --samples takes effect at epoch {epoch + 1}";
        }
    }

    /// <summary>The schedule's peak learning rate: --lr (or the LR finder's choice) times the --scale-lr-with-batch factor.</summary>
    public static double BaseLearningRate(TrainingState state, TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(options);
        var rate = state.FoundLearningRate ?? options.LearningRate;
        return state.LearningRateScale is { } scale ? rate * scale : rate;
    }

    /// <summary>The training samples the epoch in progress permutes: the first <see cref="TrainingState.EpochDatasetSize"/> while a --samples change waits.</summary>
    public static ITrainingDataset EpochData(ITrainingDataset train, TrainingState state)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(state);
        if (state.EpochDatasetSize is not { } size || size == train.Count)
        {
            return train;
        }
        if (size > train.Count)
        {
            throw new InvalidInputException($"--samples: epoch {state.Epoch} in progress permutes {size} samples but the data set has {train.Count}; resume with --samples {size} or more until the epoch ends");
        }
        // The synthetic generator is prefix-stable: the first samples of a larger set are the smaller set's samples.
        return new SubsetDataset(train, Enumerable.Range(0, size).ToArray());
    }
}
