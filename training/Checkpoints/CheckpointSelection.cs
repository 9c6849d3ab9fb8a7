using System.Globalization;
using K8sTraining.Contract;
using K8sTraining.Training.Options;

namespace K8sTraining.Training.Checkpoints;

/// <summary>What <c>--checkpoint</c> names: the best, the newest, or the checkpoint at one global step.</summary>
public sealed record CheckpointSelection
{
    private CheckpointSelection(string text, long? step, bool best)
    {
        Text = text;
        Step = step;
        IsBest = best;
    }

    /// <summary>As the user wrote it (for messages).</summary>
    public string Text { get; }

    /// <summary>The global step asked for; null for best and latest.</summary>
    public long? Step { get; }

    public bool IsBest { get; }

    public bool IsLatest => !IsBest && Step is null;

    /// <summary>With <see cref="IsBest"/>: the newest checkpoint instead of an error when the source kept no best (fine-tuning's default).</summary>
    public bool LatestWhenNoBest { get; private init; }

    /// <summary>This selection, except that best falls back to the newest checkpoint when the source kept no best.</summary>
    public CheckpointSelection OrLatestWhenNoBest() => this with { LatestWhenNoBest = true };

    public static CheckpointSelection Best { get; } = new(CheckpointSelectors.Best, null, best: true);

    public static CheckpointSelection Latest { get; } = new(CheckpointSelectors.Latest, null, best: false);

    public static CheckpointSelection AtStep(long step) => new(CheckpointLayout.DirectoryName(step), step, best: false);

    /// <summary>
    /// Parses <c>best</c>, <c>latest</c> or <c>step-N</c> (N zero-padded or not); throws
    /// <see cref="InvalidInputException"/> saying what is allowed otherwise.
    /// </summary>
    public static CheckpointSelection Parse(string? selector)
    {
        var text = selector?.Trim() ?? "";
        if (string.Equals(text, CheckpointSelectors.Best, StringComparison.OrdinalIgnoreCase))
        {
            return Best;
        }
        if (string.Equals(text, CheckpointSelectors.Latest, StringComparison.OrdinalIgnoreCase))
        {
            return Latest;
        }
        if (text.StartsWith(CheckpointSelectors.StepPrefix, StringComparison.OrdinalIgnoreCase)
            && long.TryParse(text.AsSpan(CheckpointSelectors.StepPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var step))
        {
            return AtStep(step);
        }
        throw new InvalidInputException(
            $"--checkpoint '{selector}' is not a checkpoint name: give {CheckpointSelectors.Best} (the best checkpoint), {CheckpointSelectors.Latest} (the newest) or {CheckpointSelectors.StepPrefix}N (the checkpoint at global step N, e.g. {CheckpointSelectors.StepPrefix}1200).");
    }

    public override string ToString() => Text;
}
