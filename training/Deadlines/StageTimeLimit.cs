using System.Globalization;

namespace K8sTraining.Training.Deadlines;

/// <summary>
/// A stage's <c>maxDurationSeconds</c> as a deadline: counted from the moment the stage starts, or resumes, in this
/// attempt (per attempt, like <c>--deadline</c>: a stage resumed in a later attempt gets its time anew), and never later
/// than the attempt's own deadline, which wins when it comes first. A pure function of its inputs.
/// </summary>
public static class StageTimeLimit
{
    /// <summary>
    /// The deadline the run must stop for while in the stage <paramref name="stage"/> entered at <paramref name="entered"/>,
    /// and why (the stop message's cause); null when there is neither a stage limit nor an attempt deadline.
    /// </summary>
    public static (DateTimeOffset Deadline, string Cause)? Of(DateTimeOffset? attemptDeadline, string stage, DateTimeOffset entered, int? maxDurationSeconds)
    {
        var stageDeadline = maxDurationSeconds is { } seconds ? entered.AddSeconds(seconds) : (DateTimeOffset?)null;
        if (stageDeadline is { } s && (attemptDeadline is not { } a || s < a))
        {
            return (s, string.Create(CultureInfo.InvariantCulture, $"the deadline {DeadlineInstant.Format(s)} of stage '{stage}' (maxDurationSeconds {maxDurationSeconds} from {DeadlineInstant.Format(entered)})"));
        }

        return attemptDeadline is { } d ? (d, $"the deadline {DeadlineInstant.Format(d)}") : null;
    }
}
