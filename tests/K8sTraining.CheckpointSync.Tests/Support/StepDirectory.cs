using System.Text.Json;
using K8sTraining.Contract;

namespace K8sTraining.CheckpointSync.Tests.Support;

/// <summary>Writes checkpoints the way any trainer under the contract does: files under a temporary name, then a rename.</summary>
public static class StepDirectory
{
    /// <summary>Writes <c>step-N</c> with a state.json and two files of seeded random bytes; returns its path.</summary>
    public static string Write(string root, long step, int epoch, int stepInEpoch, int size = 32 * 1024)
    {
        var temporary = WriteTemporary(root, step, epoch, stepInEpoch, size);
        var final = Path.Combine(root, CheckpointLayout.DirectoryName(step));
        Directory.Move(temporary, final);
        return final;
    }

    /// <summary>The files of <c>step-N</c> under a temporary name (what a trainer has while it is still writing).</summary>
    public static string WriteTemporary(string root, long step, int epoch, int stepInEpoch, int size = 32 * 1024)
    {
        var temporary = Path.Combine(root, $".tmp-{CheckpointLayout.DirectoryName(step)}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temporary);
        File.WriteAllBytes(Path.Combine(temporary, "model.pt"), Bytes(size, (int)step));
        File.WriteAllBytes(Path.Combine(temporary, "optimizer.pt"), Bytes(size / 2, 1000 + (int)step));
        File.WriteAllText(Path.Combine(temporary, CheckpointLayout.StateFileName), JsonSerializer.Serialize(new { globalStep = step, epoch, stepInEpoch }));
        return temporary;
    }

    public static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static string Scratch()
    {
        var dir = Path.Combine(Path.GetTempPath(), "k8straining-sync-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        return dir;
    }
}
