namespace K8sTraining.Training.Resume;

/// <summary>
/// One accepted change of a resume (state.json <c>lineage</c>, kept by every later checkpoint): which setting changed,
/// from what to what, and where the run stood when it took effect.
/// </summary>
/// <param name="GlobalStep">The global step (batches trained) the resume continued from.</param>
/// <param name="SampleInEpoch">The sample position in the epoch's permutation the resume continued from.</param>
/// <param name="Field">The flag that changed (<c>--batch-size</c>), as the configuration names it.</param>
/// <param name="From">The checkpoint's value.</param>
/// <param name="To">The value the run continues with.</param>
public sealed record LineageEntry(long GlobalStep, int? SampleInEpoch, string Field, string From, string To);
