namespace K8sTraining.Training.Checkpoints;

/// <summary>A checkpoint directory whose manifest and files verified.</summary>
public sealed record LocalCheckpoint(string Directory, CheckpointManifest Manifest)
{
    public string FilePath(string name) => Path.Combine(Directory, name);
}
