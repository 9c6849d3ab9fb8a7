namespace K8sTraining.Training.Resume;

/// <summary>Whether a resume may take a changed setting.</summary>
public enum ChangeRule
{
    /// <summary>Taken as it is (batch size, epochs, samples), validated and recorded.</summary>
    Allowed,

    /// <summary>Taken only with <c>--reconfigure true</c>: the schedule is rebuilt from the current position.</summary>
    NeedsReconfigure,

    /// <summary>Never taken: the saved state would mean nothing under it (exit 2).</summary>
    Refused,
}
