using K8sTraining.Training.Loop;

namespace K8sTraining.Training.Resume;

/// <summary>Where a checkpoint stands and what the resume asks for: the input of <see cref="ResumeChanges.Decide"/>.</summary>
/// <param name="Saved">The configuration the checkpoint was trained under.</param>
/// <param name="Requested">The configuration of this attempt's flags.</param>
/// <param name="SavedEpochs">The checkpoint's --epochs; null when it predates the field and its schedule did not span the run.</param>
/// <param name="RequestedEpochs">This attempt's --epochs.</param>
/// <param name="Epoch">The checkpoint's epoch (0-based).</param>
/// <param name="StepInEpoch">Batches done in that epoch.</param>
/// <param name="SampleInEpoch">Samples of that epoch's permutation done.</param>
/// <param name="GlobalStep">Batches done in the run.</param>
/// <param name="LearningRateScale">The checkpoint's learning-rate scale (1 until --scale-lr-with-batch scaled it).</param>
/// <param name="EpochDatasetSize">The samples the epoch in progress permutes when a --samples change waits for its end; else null.</param>
/// <param name="Reconfigure">--reconfigure.</param>
/// <param name="ScaleLrWithBatch">--scale-lr-with-batch.</param>
public sealed record ResumeRequest(
    TrainingConfiguration Saved,
    TrainingConfiguration Requested,
    int? SavedEpochs,
    int RequestedEpochs,
    int Epoch,
    int StepInEpoch,
    int SampleInEpoch,
    long GlobalStep,
    double LearningRateScale = 1,
    int? EpochDatasetSize = null,
    bool Reconfigure = false,
    bool ScaleLrWithBatch = false)
{
    /// <summary>Whether the checkpoint stands inside an epoch (not at its start).</summary>
    public bool MidEpoch => StepInEpoch > 0 || SampleInEpoch > 0;
}

/// <summary>Why a resume cannot take a change, and what the user can do instead.</summary>
public sealed record ResumeRefusal(string Flag, string Saved, string Requested, string Reason, string Fix)
{
    /// <summary>The exit-2 message: the flag, both values, the checkpoint, why, and the fix.</summary>
    public string Message(string checkpoint) =>
        $"{Flag}: '{Requested}' differs from '{Saved}' in checkpoint {checkpoint}; {Reason}; {Fix}, or use another --checkpoint-dir";
}

/// <summary>
/// What a resume does with the differences it found: the changes it takes (the lineage entries to record) or the first
/// one it refuses, and the learning-rate scale and epoch data set size it continues with.
/// </summary>
/// <param name="Changes">The accepted changes, as lineage entries, in the order of the flags.</param>
/// <param name="Refusal">The first refused change; null when the resume may go on.</param>
/// <param name="LearningRateScale">The learning-rate scale to continue with.</param>
/// <param name="EpochDatasetSize">The samples the epoch in progress permutes, when not the configuration's.</param>
/// <param name="RebuildsSchedule">Whether the schedule the run continues with differs from the checkpoint's.</param>
public sealed record ResumeDecision(IReadOnlyList<LineageEntry> Changes, ResumeRefusal? Refusal, double LearningRateScale, int? EpochDatasetSize, bool RebuildsSchedule);

/// <summary>
/// Which differences between a checkpoint's configuration and the flags a resume may take (trainer/README.md, "Resuming
/// with changed parameters"): a pure function of the two configurations and the position. Allowed: batch size, epochs,
/// samples. With --reconfigure: learning rate, schedule, optimizer hyper-parameters, loss and augmentation. Refused: what
/// makes the saved state meaningless (architecture, data set, seed, optimizer kind, frozen set, accumulation, EMA).
/// </summary>
public static class ResumeChanges
{
    private const string Architecture = "the model's architecture decides the shape of every saved weight";
    private const string DataIdentity = "the checkpoint was trained on that data (and its saved split)";
    private const string Recipe = "it changes the math of the remaining steps";

    /// <summary>The rule of every field of <see cref="TrainingConfiguration"/>, by the flag that sets it; a field not listed is refused.</summary>
    public static IReadOnlyList<(string Flag, ChangeRule Rule, string Reason)> Rules { get; } =
    [
        ("--model", ChangeRule.Refused, Architecture),
        ("--num-classes", ChangeRule.Refused, Architecture),
        ("--in-channels", ChangeRule.Refused, Architecture),
        ("--image-size", ChangeRule.Refused, Architecture),
        ("--stem", ChangeRule.Refused, Architecture),
        ("--cnn-channels", ChangeRule.Refused, Architecture),
        ("--dataset", ChangeRule.Refused, DataIdentity),
        ("--normalize", ChangeRule.Refused, "the weights were trained on inputs normalised that way"),
        ("--max-samples-per-class", ChangeRule.Refused, DataIdentity),
        ("--val-fraction", ChangeRule.Refused, DataIdentity),
        ("--seed", ChangeRule.Refused, "the seed decides every permutation and random number of the run"),
        ("--optimizer", ChangeRule.Refused, "the saved optimizer state belongs to that optimizer"),
        ("--freeze", ChangeRule.Refused, "the saved optimizer state holds exactly the parameters that were trained"),
        ("--grad-accumulation-steps", ChangeRule.Refused, "the saved position is aligned to the old accumulation groups"),
        ("--ema-decay", ChangeRule.Refused, "the saved EMA weights were averaged with that decay"),
        ("--lr auto", ChangeRule.Refused, "the LR finder runs once, before the first step"),
        ("--lr-find-steps, --lr-find-start, --lr-find-end, --lr-find-rule", ChangeRule.Refused, "the LR finder runs once, before the first step"),
        ("--samples", ChangeRule.Allowed, string.Empty),
        ("--batch-size", ChangeRule.Allowed, string.Empty),
        ("--epochs", ChangeRule.Allowed, string.Empty),
        ("--lr", ChangeRule.NeedsReconfigure, Recipe),
        ("--lr-gamma", ChangeRule.NeedsReconfigure, Recipe),
        ("--scheduler", ChangeRule.NeedsReconfigure, Recipe),
        ("--warmup-steps", ChangeRule.NeedsReconfigure, Recipe),
        ("--warmup-epochs", ChangeRule.NeedsReconfigure, Recipe),
        ("--min-lr", ChangeRule.NeedsReconfigure, Recipe),
        ("--step-size", ChangeRule.NeedsReconfigure, Recipe),
        ("--milestones", ChangeRule.NeedsReconfigure, Recipe),
        ("--onecycle-pct-start, --onecycle-div-factor, --onecycle-final-div-factor, --base-momentum, --max-momentum", ChangeRule.NeedsReconfigure, Recipe),
        ("--momentum", ChangeRule.NeedsReconfigure, Recipe),
        ("--nesterov", ChangeRule.NeedsReconfigure, Recipe),
        ("--weight-decay", ChangeRule.NeedsReconfigure, Recipe),
        ("--grad-clip-norm", ChangeRule.NeedsReconfigure, Recipe),
        ("--random-crop-padding", ChangeRule.NeedsReconfigure, Recipe),
        ("--horizontal-flip", ChangeRule.NeedsReconfigure, Recipe),
        ("--class-weights", ChangeRule.NeedsReconfigure, Recipe),
        ("--loss", ChangeRule.NeedsReconfigure, Recipe),
        ("--focal-gamma", ChangeRule.NeedsReconfigure, Recipe),
        ("--label-smoothing", ChangeRule.NeedsReconfigure, Recipe),
        ("--mixup-alpha", ChangeRule.NeedsReconfigure, Recipe),
        ("--cutmix-alpha", ChangeRule.NeedsReconfigure, Recipe),
        ("--mix-prob", ChangeRule.NeedsReconfigure, Recipe),
        ("--mix-off-last-epochs", ChangeRule.NeedsReconfigure, Recipe),
    ];

    /// <summary>The lineage field of a --scale-lr-with-batch scaling (from and to are the scale factors).</summary>
    public const string ScaleField = "--scale-lr-with-batch";

    /// <summary>The rule of the field <paramref name="flag"/> names; a field this table does not know is refused.</summary>
    public static (ChangeRule Rule, string Reason) RuleFor(string flag)
    {
        foreach (var (f, rule, reason) in Rules)
        {
            if (f == flag)
            {
                return (rule, reason);
            }
        }
        return (ChangeRule.Refused, "a resume cannot change it");
    }

    /// <summary>What the resume of <paramref name="request"/> does: the changes it takes, or the first it refuses.</summary>
    public static ResumeDecision Decide(ResumeRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var saved = request.Saved;
        var requested = request.Requested;
        var changes = new List<LineageEntry>();
        var scale = request.LearningRateScale;
        var epochDatasetSize = request.EpochDatasetSize;
        var rebuilds = false;
        LineageEntry Entry(string field, string from, string to) => new(request.GlobalStep, request.SampleInEpoch, field, from, to);
        ResumeDecision Refuse(ResumeRefusal refusal) => new([], refusal, request.LearningRateScale, request.EpochDatasetSize, false);

        foreach (var (flag, before, now) in requested.Differences(saved))
        {
            if (flag == "--epochs")
            {
                // The schedule's span (recorded only when the schedule spans the run): --epochs below decides it.
                rebuilds = true;
                continue;
            }
            var (rule, reason) = RuleFor(flag);
            var keep = before == TrainingConfiguration.Unset ? $"resume without {flag}" : $"resume with {flag} {before}";
            switch (rule)
            {
                case ChangeRule.Refused:
                    return Refuse(new ResumeRefusal(flag, before, now, $"a resume cannot change it: {reason}", keep));
                case ChangeRule.NeedsReconfigure when !request.Reconfigure:
                    return Refuse(new ResumeRefusal(flag, before, now, $"{reason}", $"resume with --reconfigure true to rebuild the schedule from the current position (weights, optimizer state and position are kept), or {keep}"));
                case ChangeRule.NeedsReconfigure:
                    rebuilds = true;
                    break;
                default:
                    if (flag == "--samples" && SamplesRefusal(request, before, now) is { } samplesRefusal)
                    {
                        return Refuse(samplesRefusal);
                    }
                    if (flag == "--samples")
                    {
                        var current = request.EpochDatasetSize ?? saved.Samples;
                        // The epoch in progress keeps its permutation; the new count takes effect at the next epoch.
                        epochDatasetSize = request.MidEpoch && requested.Samples != current ? current : null;
                    }
                    if (flag == "--batch-size")
                    {
                        rebuilds = true;
                    }
                    break;
            }
            changes.Add(Entry(flag, before, now));
            if (flag == "--batch-size" && request.ScaleLrWithBatch)
            {
                var scaled = scale * requested.BatchSize / saved.BatchSize;
                changes.Add(Entry(ScaleField, TrainingConfiguration.Show(scale), TrainingConfiguration.Show(scaled)));
                scale = scaled;
            }
        }

        var done = request.Epoch + (request.MidEpoch ? 1 : 0);
        var savedEpochs = request.SavedEpochs ?? (saved.ScheduleEpochs > 0 ? saved.ScheduleEpochs : null);
        if (request.RequestedEpochs < done)
        {
            var shown = TrainingConfiguration.Show(savedEpochs);
            return Refuse(new ResumeRefusal("--epochs", shown, TrainingConfiguration.Show(request.RequestedEpochs), $"the checkpoint has trained {done} epoch(s) already", $"resume with --epochs {done} or more"));
        }
        if (savedEpochs is { } epochs && epochs != request.RequestedEpochs)
        {
            changes.Add(Entry("--epochs", TrainingConfiguration.Show(epochs), TrainingConfiguration.Show(request.RequestedEpochs)));
        }
        return new ResumeDecision(changes, null, scale, epochDatasetSize, rebuilds);
    }

    private static ResumeRefusal? SamplesRefusal(ResumeRequest request, string before, string now)
    {
        var saved = request.Saved;
        if (saved.ValFraction > 0 || saved.MaxSamplesPerClass > 0)
        {
            return new ResumeRefusal("--samples", before, now, "the checkpoint's saved split (--val-fraction, --max-samples-per-class) covers its samples", $"resume with --samples {before}");
        }
        var current = request.EpochDatasetSize ?? saved.Samples;
        if (request.MidEpoch && request.Requested.Samples < current)
        {
            return new ResumeRefusal("--samples", before, now, $"the epoch in progress (epoch {request.Epoch}) permutes {current} samples and fewer cannot finish it", $"resume with --samples {current} or more until a checkpoint at an epoch's end");
        }
        return null;
    }
}
