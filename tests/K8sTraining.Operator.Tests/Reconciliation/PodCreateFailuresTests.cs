using K8sTraining.Operator.Api;
using K8sTraining.Operator.Reconciliation;
using K8sTraining.Operator.Tests.Builders;
using k8s.Models;

namespace K8sTraining.Operator.Tests.Reconciliation;

/// <summary>A pod create the API server refuses is shown on the job and retried with backoff, at once after a spec change.</summary>
[Trait("Category", "Unit")]
public sealed class PodCreateFailuresTests
{
    private static readonly DateTimeOffset Now = TrainingJobBuilder.T0.AddMinutes(5);

    private static readonly PodCreateRefusal Forbidden = new(403, "Forbidden", "pods \"mnist-attempt-1\" is forbidden: violates PodSecurity \"restricted:latest\": runAsNonRoot != true");

    /// <summary>One row: the refusal count before, and the backoff and Event the next refusal gets.</summary>
    public sealed record Case(string Name, int FailuresBefore, bool SameGeneration, bool SameMessage, int ExpectedFailures, int ExpectedSeconds, bool ExpectEvent)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<Case> Cases() => new()
    {
        new("first refusal", 0, false, false, 1, 10, true),
        new("second refusal of the same spec doubles the wait, no new Event", 1, true, true, 2, 20, false),
        new("fourth refusal", 3, true, true, 4, 80, false),
        new("many refusals are capped at five minutes", 12, true, true, 13, 300, false),
        new("another message is news", 2, true, false, 3, 40, true),
        new("after a spec change the count starts over", 6, false, true, 1, 10, true),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Refused_Should_ShowTheRefusalAndBackOff_When_TheApiServerRefusesThePod(Case c)
    {
        var job = TrainingJobBuilder.Default().Build();
        job.Metadata.Generation = 3;
        if (c.FailuresBefore > 0)
        {
            job.Status = new TrainingJobStatus { Phase = JobPhases.Pending, PodCreateFailures = c.FailuresBefore, Conditions = [] };
            Conditions.Set(job.Status.Conditions, ConditionTypes.PodCreateFailed, true, "Forbidden",
                c.SameMessage ? $"the API server refused to create pod mnist-attempt-1 (403 Forbidden): {Forbidden.Message}" : "older message",
                c.SameGeneration ? 3 : 2, Now.AddMinutes(-1));
            job.Status.NextAttemptTime = c.SameGeneration ? Now.AddSeconds(-1).UtcDateTime : Now.AddMinutes(4).UtcDateTime;
        }

        var decided = TrainingJobDecider.Decide(job, [], Now);
        Assert.Contains(decided.Actions, a => a is CreatePod { Attempt: 1 });

        var d = PodCreateFailures.Refused(job, decided, new CreatePod(1), Forbidden, Now);

        var condition = Conditions.Find(d.Status.Conditions, ConditionTypes.PodCreateFailed)!;
        Assert.Equal(("True", "Forbidden", (long?)3), (condition.Status, condition.Reason, condition.ObservedGeneration));
        Assert.Contains(Forbidden.Message, condition.Message, StringComparison.Ordinal);
        var running = Conditions.Find(d.Status.Conditions, ConditionTypes.Running)!;
        Assert.Equal(("False", ConditionReasons.PodCreateFailed), (running.Status, running.Reason));
        Assert.Equal(0, d.Status.Attempt);
        Assert.Null(d.Status.ActivePod);
        Assert.Equal(JobPhases.Pending, d.Status.Phase);
        Assert.Equal(c.ExpectedFailures, d.Status.PodCreateFailures);
        Assert.Equal(TimeSpan.FromSeconds(c.ExpectedSeconds), d.RequeueAfter);
        Assert.Equal(Now.AddSeconds(c.ExpectedSeconds).UtcDateTime, d.Status.NextAttemptTime);
        Assert.DoesNotContain(d.Actions, a => a is CreatePod);
        Assert.DoesNotContain(d.Events, e => e.Reason == EventReasons.AttemptCreated);
        Assert.Equal(c.ExpectEvent ? 1 : 0, d.Events.Count(e => e is { Type: "Warning", Reason: EventReasons.PodCreateFailed } && e.Message.Contains(Forbidden.Message, StringComparison.Ordinal)));
    }

    [Fact]
    public void Refused_Should_KeepTheAccountingOfTheEndedAttempt_When_TheReplacementIsRefused()
    {
        var job = TrainingJobBuilder.Default().InPhase(JobPhases.Running).Build();
        var decided = TrainingJobDecider.Decide(job, [PodBuilder.For(job, 1).Disrupted("EvictionByEvictionAPI").Checkpointed(120, 1, 20).Deleting().Build()], Now);

        var d = PodCreateFailures.Refused(job, decided, new CreatePod(2), new PodCreateRefusal(403, "Forbidden", "exceeded quota: compute, requested: pods=1, used: pods=10, limited: pods=10"), Now);

        Assert.Equal((1, 1, JobPhases.Restarting), (d.Status.Attempt, d.Status.Preemptions, d.Status.Phase));
        Assert.Equal(120, d.Status.ResumeFrom?.GlobalStep);
        Assert.Equal(["Release mnist-attempt-1"], d.Actions.Select(a => a is ReleasePod r ? $"Release {r.Name}" : a.ToString()).ToArray());
        Assert.Equal([EventReasons.Preempted, EventReasons.PodCreateFailed], d.Events.Select(e => e.Reason).ToArray());
    }

    /// <summary>One row: the job after a refusal, and whether the decider tries to create the pod again now.</summary>
    public sealed record RetryCase(string Name, long Generation, int SecondsUntilRetry, bool Creates)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<RetryCase> RetryCases() => new()
    {
        new("backoff not over waits", 3, 15, false),
        new("backoff over tries again", 3, -1, true),
        new("spec changed tries again at once", 4, 200, true),
    };

    [Theory]
    [MemberData(nameof(RetryCases))]
    public void Decide_Should_RetryARefusedCreate_When_TheBackoffIsOverOrTheSpecChanged(RetryCase c)
    {
        var job = TrainingJobBuilder.Default().Build();
        job.Metadata.Generation = 3;
        var refused = PodCreateFailures.Refused(job, TrainingJobDecider.Decide(job, [], Now), new CreatePod(1), Forbidden, Now);
        job.Status = refused.Status;
        job.Status.NextAttemptTime = Now.AddMinutes(1).AddSeconds(c.SecondsUntilRetry).UtcDateTime;
        job.Metadata.Generation = c.Generation;

        var d = TrainingJobDecider.Decide(job, [], Now.AddMinutes(1));

        Assert.Equal(c.Creates, d.Actions.Any(a => a is CreatePod { Attempt: 1 }));
        if (!c.Creates)
        {
            Assert.Equal(TimeSpan.FromSeconds(c.SecondsUntilRetry), d.RequeueAfter);
            Assert.Equal(ConditionReasons.PodCreateFailed, Conditions.Find(d.Status.Conditions, ConditionTypes.Running)?.Reason);
            Assert.Empty(d.Events);
        }
    }

    [Fact]
    public void Decide_Should_ClearPodCreateFailed_When_ThePodWasCreated()
    {
        var job = TrainingJobBuilder.Default().Build();
        job.Status = PodCreateFailures.Refused(job, TrainingJobDecider.Decide(job, [], Now), new CreatePod(1), Forbidden, Now).Status;
        job.Status = TrainingJobDecider.Decide(job, [], Now.AddSeconds(11)).Status;

        var d = TrainingJobDecider.Decide(job, [PodBuilder.For(job, 1).Running().Build()], Now.AddSeconds(20));

        var condition = Conditions.Find(d.Status.Conditions, ConditionTypes.PodCreateFailed)!;
        Assert.Equal(("False", ConditionReasons.PodCreated), (condition.Status, condition.Reason));
        Assert.Equal(0, d.Status.PodCreateFailures);
        Assert.Equal(JobPhases.Running, d.Status.Phase);
    }

    [Theory]
    [InlineData("admission refusal", 403, """{"kind":"Status","apiVersion":"v1","status":"Failure","message":"pods \"x\" is forbidden: error looking up service account default/trainer: serviceaccount \"trainer\" not found","reason":"Forbidden","code":403}""", "Forbidden", "pods \"x\" is forbidden: error looking up service account default/trainer: serviceaccount \"trainer\" not found")]
    [InlineData("validation", 422, """{"kind":"Status","message":"Pod \"x\" is invalid: spec.containers[0].env[0].name: Invalid value: \"a b\"","reason":"Invalid","code":422}""", "Invalid", "Pod \"x\" is invalid: spec.containers[0].env[0].name: Invalid value: \"a b\"")]
    [InlineData("not a Status", 404, "<html>not found</html>", "NotFound", "fallback")]
    [InlineData("no body", 500, null, "InternalError", "fallback")]
    public void From_Should_TakeReasonAndMessageFromTheStatus_When_TheApiServerRefuses(string why, int code, string? body, string reason, string message)
    {
        var refusal = PodCreateRefusal.From(code, body, "fallback");

        Assert.True((reason, message) == (refusal.Reason, refusal.Message), why);
    }

    [Theory]
    [InlineData("throttled", 429, true)]
    [InlineData("internal error (etcd timeout)", 500, true)]
    [InlineData("bad gateway", 502, true)]
    [InlineData("unavailable", 503, true)]
    [InlineData("server timeout", 504, true)]
    [InlineData("admission refusal", 403, false)]
    [InlineData("validation", 422, false)]
    [InlineData("bad request", 400, false)]
    [InlineData("not found (namespace gone)", 404, false)]
    [InlineData("conflict", 409, false)]
    [InlineData("not implemented", 501, false)]
    [InlineData("a proxy's own error", 599, false)]
    public void IsTransient_Should_RetryOnlyWhatTheServerCouldNotServeNow_When_APodCreateFails(string why, int code, bool transient)
    {
        Assert.True(transient == PodCreateRefusal.IsTransient(code), why);
    }
}
