using K8sTraining.Operator.Api;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>spec.initFrom.trainingJob before a fresh start: wait (condition, Event, look again) until the source's checkpoint prefix is known.</summary>
internal static class InitSourceSteps
{
    /// <summary>How often a job whose source cannot be read yet looks again (the source's changes do not wake it).</summary>
    internal static readonly TimeSpan LookAgain = TimeSpan.FromSeconds(15);

    /// <summary>True when the next attempt may start: no source to resolve, a resume (the trainer ignores initFrom then), or a resolved one.</summary>
    internal static bool InitSourceReady(this DecisionDraft d)
    {
        if (d.Init is not { } init)
        {
            return true;
        }

        if (!init.Unresolved || d.Status.ResumeFrom is not null)
        {
            if (!init.Unresolved)
            {
                Conditions.Set(d.ConditionList, ConditionTypes.InitSourceReady, true, ConditionReasons.InitSourceResolved, $"the weights come from {init.Uri}", d.Generation, d.Now);
            }

            return true;
        }

        var message = init.Message ?? "spec.initFrom.trainingJob cannot be resolved";
        var alreadySaid = Conditions.Find(d.Status.Conditions, ConditionTypes.InitSourceReady) is { Status: "False" } old && old.Message == message;
        Conditions.Set(d.ConditionList, ConditionTypes.InitSourceReady, false, init.Reason ?? ConditionReasons.InitSourceNotFound, message, d.Generation, d.Now);
        if (!alreadySaid)
        {
            d.Events.Add(JobEvent.Warning(EventReasons.InitSourceNotReady, message));
        }

        d.SetPhase(d.Status.Attempt == 0 ? JobPhases.Pending : JobPhases.Restarting, init.Reason ?? ConditionReasons.InitSourceNotFound, $"no attempt yet: {message}");
        d.Requeue(LookAgain);
        return false;
    }
}
