using System.Runtime;

namespace K8sTraining.Training.Loop;

/// <summary>
/// Keeps training steps inside a GC no-GC region. TorchSharp 0.107 frees the native side of implicitly created Scalars
/// only through finalizers, and a GC during a native call can finalize one still in use (seen as "Expected false to be
/// true ... toFloat" or a failed check in addcdiv_ in AdamW.step), so no GC may run while a step runs.
/// Starting a region costs a full blocking GC (measured: one gen2 collection per step, a quarter of an mlp step), so one
/// region is held across steps and renewed between steps only when it was lost (a GC ended it: an induced collection, a
/// large allocation such as a checkpoint capture) or when half its budget is used, so every step starts with at least
/// half the budget (16 MiB) for allocations on any thread.
/// </summary>
internal static class NoGcRegion
{
    private const long BudgetBytes = 32L * 1024 * 1024;

    private static long _allocatedAtStart;

    /// <summary>Call between steps, before the step's native calls.</summary>
    public static void EnsureEntered()
    {
        if (GCSettings.LatencyMode == GCLatencyMode.NoGCRegion && GC.GetTotalAllocatedBytes() - _allocatedAtStart < BudgetBytes / 2)
        {
            return;
        }
        Exit();
        _allocatedAtStart = GC.GetTotalAllocatedBytes();
        _ = GC.TryStartNoGCRegion(BudgetBytes);
    }

    /// <summary>Ends the region, if any; a region that a GC already ended is reset so a new one can start.</summary>
    public static void Exit()
    {
        try
        {
            GC.EndNoGCRegion();
        }
        catch (InvalidOperationException)
        {
            // Not in a region, or a GC ended it (the budget ran out, or a collection was induced): nothing to undo.
        }
    }
}
