using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Reconciliation;
using K8sTraining.Operator.Tests.Builders;
using k8s.Models;

namespace K8sTraining.Operator.Tests.Reconciliation;

/// <summary>
/// What the decider does with a pod on a lost Node under each policy (issue 12): the NodeLost condition, the
/// accounting (a preemption, never a failure), the replacement and its Event, and never two live trainers under Wait.
/// </summary>
[Trait("Category", "Unit")]
public sealed class NodeLossDecisionTests
{
    private const string Node = "local-node-2";
    private const string Other = "local-node";
    private static readonly DateTimeOffset Lost = TrainingJobBuilder.T0.AddMinutes(4);
    private static readonly DateTimeOffset Now = Lost.AddSeconds(90);
    private static readonly CheckpointRecord Checkpoint = new() { GlobalStep = 120, Epoch = 1, StepInEpoch = 56, Location = "s3://k8straining/jobs/mnist/step-000000000120", Uploaded = true };

    private static V1Node Unreachable => NodeBuilder.Named(Node).Unreachable(Lost).Build();

    private static V1Node Healthy(string name = Node) => NodeBuilder.Named(name).Build();

    private static Dictionary<string, V1Node?> Nodes(V1Node? lostNode) => new() { [Node] = lostNode, [Other] = Healthy(Other) };

    private static TrainingJobBuilder Job(string? policy = null, long? replaceAfter = null) =>
        TrainingJobBuilder.Default().WithSpec(s => { s.NodeLossPolicy = policy; s.NodeLossReplaceAfterSeconds = replaceAfter; });

    private static NodeLossRecord Recorded(string policy, DateTime? replacedAt = null) =>
        new() { Node = Node, Attempt = 1, Pod = "mnist-attempt-1", Since = Lost.UtcDateTime, Reason = NodeLoss.NodeUnreachable, Policy = policy, ReplacedAt = replacedAt };

    /// <summary>The NodeLost condition as an earlier reconcile left it.</summary>
    private static List<V1Condition> NodeLostSaid(string reason) =>
        [new V1Condition { Type = ConditionTypes.NodeLost, Status = "True", Reason = reason, Message = $"node {Node} stopped reporting", ObservedGeneration = 1, LastTransitionTime = Lost.UtcDateTime }];

    /// <summary>One row: a situation with a lost Node and what the operator must do about it.</summary>
    public sealed record Case(
        string Name,
        TrainingJob Job,
        V1Pod[] Pods,
        Dictionary<string, V1Node?> Nodes,
        string Phase,
        string[] Actions,
        string[] Events,
        string? NodeLost,
        string? NodeLostReason,
        int Preemptions = 0,
        TimeSpan? Requeue = null)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<Case> Cases()
    {
        var waitRunning = Job().InPhase(JobPhases.Running).WithStatus(s => { s.ActivePod = "mnist-attempt-1"; s.ResumeFrom = Checkpoint; }).Build();
        var waiting = Job().InPhase(JobPhases.Restarting).WithStatus(s => { s.ActivePod = "mnist-attempt-1"; s.ResumeFrom = Checkpoint; s.NodeLoss = Recorded(NodeLossPolicies.Wait); s.Conditions = NodeLostSaid(ConditionReasons.WaitingForPodToGo); }).Build();
        var replaceSoon = Job(NodeLossPolicies.Replace, 120).InPhase(JobPhases.Running).WithStatus(s => s.ActivePod = "mnist-attempt-1").Build();
        var replaceDue = Job(NodeLossPolicies.Replace, 60).InPhase(JobPhases.Running).WithStatus(s => { s.ActivePod = "mnist-attempt-1"; s.ResumeFrom = Checkpoint; }).Build();
        var replaced = Job(NodeLossPolicies.Replace, 60).InPhase(JobPhases.Restarting, attempt: 2)
            .WithStatus(s => { s.ActivePod = "mnist-attempt-2"; s.Preemptions = 1; s.LastTermination = new TerminationRecord { Attempt = 1, Outcome = AttemptOutcomes.Preempted, Reason = ConditionReasons.NodeLost }; s.NodeLoss = Recorded(NodeLossPolicies.Replace, Lost.AddSeconds(60).UtcDateTime); s.Conditions = NodeLostSaid(ConditionReasons.ReplacedUnderReplacePolicy); })
            .Build();
        var refusedAfterReplace = Job(NodeLossPolicies.Replace, 60).InPhase(JobPhases.Restarting)
            .WithStatus(s => { s.Preemptions = 1; s.LastTermination = new TerminationRecord { Attempt = 1, Outcome = AttemptOutcomes.Preempted, Reason = ConditionReasons.NodeLost }; s.NodeLoss = Recorded(NodeLossPolicies.Replace); })
            .Build();
        var waitSecond = Job().InPhase(JobPhases.Running, attempt: 2).WithStatus(s => { s.ActivePod = "mnist-attempt-2"; s.Preemptions = 1; }).Build();
        var replaceSecond = Job(NodeLossPolicies.Replace, 60).InPhase(JobPhases.Running, attempt: 2).WithStatus(s => { s.ActivePod = "mnist-attempt-2"; s.Preemptions = 1; }).Build();

        return new TheoryData<Case>
        {
            new("Wait: a running pod on an unreachable node is waited for, and NodeLost says so", waitRunning,
                [PodBuilder.For(waitRunning, 1).Running().OnNode(Node).Build()], Nodes(Unreachable),
                JobPhases.Restarting, [], [EventReasons.NodeLost], "True", ConditionReasons.WaitingForPodToGo, Requeue: NodeLoss.WaitRecheck),
            new("Wait: the taint manager's Terminating pod is waited for, with no Event again", waiting,
                [PodBuilder.For(waiting, 1).Running().Disrupted("DeletionByTaintManager", Lost.AddSeconds(31)).Deleting().OnNode(Node).Build()], Nodes(Unreachable),
                JobPhases.Restarting, [], [], "True", ConditionReasons.WaitingForPodToGo, Requeue: NodeLoss.WaitRecheck),
            new("Wait: a deleted node's pod is waited for until pod GC ends it", waiting,
                [PodBuilder.For(waiting, 1).Running().Deleting().OnNode(Node).Build()], Nodes(null),
                JobPhases.Restarting, [], [], "True", ConditionReasons.WaitingForPodToGo, Requeue: NodeLoss.WaitRecheck),
            new("Wait: pod GC ended the pod: a preemption, and the replacement says which loss it replaces", waiting,
                [PodBuilder.For(waiting, 1).Disrupted("DeletionByPodGC", Now).Exited(137).Deleting().OnNode(Node).Build()], Nodes(null),
                JobPhases.Restarting, ["Release mnist-attempt-1", "Create 2"], [EventReasons.Preempted, EventReasons.AttemptCreated, EventReasons.NodeLossReplacement], "True", ConditionReasons.Replacing, Preemptions: 1),
            new("Wait: the node came back in time: Running again, NodeLost False", waiting,
                [PodBuilder.For(waiting, 1).Running().OnNode(Node).Build()], Nodes(Healthy()),
                JobPhases.Running, [], [EventReasons.AttemptRunning, EventReasons.NodeRecovered], "False", ConditionReasons.NodeRecovered),
            new("Replace: before nodeLossReplaceAfterSeconds, it waits until they are over", replaceSoon,
                [PodBuilder.For(replaceSoon, 1).Running().OnNode(Node).Build()], Nodes(Unreachable),
                JobPhases.Restarting, [], [EventReasons.NodeLost], "True", ConditionReasons.WaitingToReplace, Requeue: TimeSpan.FromSeconds(30)),
            new("Replace: once they are over, the replacement is created while the old pod still runs", replaceDue,
                [PodBuilder.For(replaceDue, 1).Running().OnNode(Node).Build()], Nodes(Unreachable),
                JobPhases.Restarting, ["Create 2"], [EventReasons.Preempted, EventReasons.AttemptCreated, EventReasons.NodeLossReplacement], "True", ConditionReasons.ReplacedUnderReplacePolicy, Preemptions: 1),
            new("Replace: the old pod is deleted gracefully, never forced, and does not block", replaced,
                [PodBuilder.For(replaced, 1).Running().OnNode(Node).Build(), PodBuilder.For(replaced, 2).OnNode(Other).Build()], Nodes(Unreachable),
                JobPhases.Restarting, ["Delete mnist-attempt-1"], [], "True", ConditionReasons.ReplacedUnderReplacePolicy, Preemptions: 1),
            new("Replace: the replacement runs: NodeLost False, the old pod still Terminating on its node", replaced,
                [PodBuilder.For(replaced, 1).Running().Deleting().OnNode(Node).Build(), PodBuilder.For(replaced, 2).Running().OnNode(Other).Build()], Nodes(Unreachable),
                JobPhases.Running, [], [EventReasons.AttemptRunning], "False", ConditionReasons.ReplacementRunning, Preemptions: 1),
            new("Replace: a refused create is retried without counting the preemption twice", refusedAfterReplace,
                [PodBuilder.For(refusedAfterReplace, 1).Running().OnNode(Node).Build()], Nodes(Unreachable),
                JobPhases.Restarting, ["Create 2"], [EventReasons.AttemptCreated, EventReasons.NodeLossReplacement], "True", ConditionReasons.ReplacedUnderReplacePolicy, Preemptions: 1),
            new("Replace: the node came back after Replace gave the attempt up: it stays given up, the replacement is created", refusedAfterReplace,
                [PodBuilder.For(refusedAfterReplace, 1).Running().OnNode(Node).Build()], Nodes(Healthy()),
                JobPhases.Restarting, ["Create 2"], [EventReasons.AttemptCreated, EventReasons.NodeLossReplacement], "True", ConditionReasons.ReplacedUnderReplacePolicy, Preemptions: 1),
            new("Replace: the replacement preempted while the old pod lingers on its lost node: the next one starts", replaceSecond,
                [PodBuilder.For(replaceSecond, 1).Running().Deleting().OnNode(Node).Build(), PodBuilder.For(replaceSecond, 2).Checkpointed(150, 1, 86).OnNode(Other).Build()], Nodes(Unreachable),
                JobPhases.Restarting, ["Release mnist-attempt-2", "Create 3"], [EventReasons.Preempted, EventReasons.AttemptCreated], null, null, Preemptions: 2),
            new("Wait: the replacement preempted while the old pod lingers on its lost node: nothing starts", waitSecond,
                [PodBuilder.For(waitSecond, 1).Running().Deleting().OnNode(Node).Build(), PodBuilder.For(waitSecond, 2).Checkpointed(150, 1, 86).OnNode(Other).Build()], Nodes(Unreachable),
                JobPhases.Restarting, ["Release mnist-attempt-2"], [EventReasons.Preempted], null, null, Preemptions: 2),
            new("a stale attempt fenced off (exit 76) is released, not counted", replaced,
                [PodBuilder.For(replaced, 1).Exited(TrainerExitCodes.Superseded).OnNode(Node).Build(), PodBuilder.For(replaced, 2).OnNode(Other).Build()], Nodes(Healthy()),
                JobPhases.Restarting, ["Release mnist-attempt-1"], [], "True", ConditionReasons.ReplacedUnderReplacePolicy, Preemptions: 1),
            new("the current attempt fenced off (exit 76) is a preemption, not a failure", waitRunning,
                [PodBuilder.For(waitRunning, 1).Exited(TrainerExitCodes.Superseded).OnNode(Other).Build()], Nodes(Unreachable),
                JobPhases.Restarting, ["Release mnist-attempt-1", "Create 2"], [EventReasons.Preempted, EventReasons.AttemptCreated], null, null, Preemptions: 1),
        };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Decide_Should_ActAsTheTableSays_When_APodsNodeIsLost(Case c)
    {
        var decision = TrainingJobDecider.Decide(c.Job, c.Pods, Now, nodes: c.Nodes);

        Assert.Equal(c.Phase, decision.Status.Phase);
        Assert.Equal(c.Actions, decision.Actions.Select(Describe).ToArray());
        Assert.Equal(c.Events, decision.Events.Select(e => e.Reason).ToArray());
        Assert.Equal(c.Preemptions, decision.Status.Preemptions);
        Assert.Equal(0, decision.Status.Restarts);
        Assert.Equal(c.Requeue, decision.RequeueAfter);
        var condition = Conditions.Find(decision.Status.Conditions, ConditionTypes.NodeLost);
        Assert.Equal(c.NodeLost, condition?.Status);
        Assert.Equal(c.NodeLostReason, condition?.Reason);
        if (condition is { Status: "True" })
        {
            Assert.Contains(Node, condition.Message, StringComparison.Ordinal);
            Assert.Equal(1, condition.ObservedGeneration);
        }
    }

    [Fact]
    public void Decide_Should_CountANodeLossReplacementAsAPreemption_When_TheReplacePolicyActs()
    {
        var job = Job(NodeLossPolicies.Replace, 60).InPhase(JobPhases.Running).WithStatus(s => { s.ActivePod = "mnist-attempt-1"; s.ResumeFrom = Checkpoint; }).Build();

        var decision = TrainingJobDecider.Decide(job, [PodBuilder.For(job, 1).Running().OnNode(Node).Build()], Now, nodes: Nodes(Unreachable));

        var status = decision.Status;
        Assert.Equal((1, AttemptOutcomes.Preempted, ConditionReasons.NodeLost), (status.LastTermination!.Attempt, status.LastTermination.Outcome, status.LastTermination.Reason));
        Assert.Equal((2, 0), (status.Attempt, status.Restarts));
        Assert.Equal(Checkpoint.Location, status.ResumeFrom?.Location);
        Assert.Equal((Node, 1, Lost.UtcDateTime, NodeLossPolicies.Replace, (DateTime?)Now.UtcDateTime), (status.NodeLoss!.Node, status.NodeLoss.Attempt, status.NodeLoss.Since, status.NodeLoss.Policy, status.NodeLoss.ReplacedAt));
        var replacement = Assert.Single(decision.Events, e => e.Reason == EventReasons.NodeLossReplacement);
        Assert.Contains("nodeLossPolicy Replace acted", replacement.Message, StringComparison.Ordinal);
        Assert.Contains($"resumes from {Checkpoint.Location}", replacement.Message, StringComparison.Ordinal);
        Assert.Contains(Node, replacement.Message, StringComparison.Ordinal);
        Assert.Contains("nodeLossPolicy Replace", Conditions.Find(status.Conditions, ConditionTypes.NodeLost)!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_Should_KeepTheLossStartAndTransitionTime_When_TheWaitGoesOn()
    {
        var job = Job().InPhase(JobPhases.Running).WithStatus(s => s.ActivePod = "mnist-attempt-1").Build();
        var pod = PodBuilder.For(job, 1).Running().OnNode(Node).Build();
        job.Status = TrainingJobDecider.Decide(job, [pod], Now, nodes: Nodes(Unreachable)).Status;

        // Later the Node is deleted (no time of its own): the loss still dates from the first sign.
        var later = TrainingJobDecider.Decide(job, [pod], Now.AddMinutes(2), nodes: Nodes(null));

        Assert.Equal(Lost.UtcDateTime, later.Status.NodeLoss?.Since);
        Assert.Equal(Now.UtcDateTime, Conditions.Find(later.Status.Conditions, ConditionTypes.NodeLost)?.LastTransitionTime);
        Assert.Empty(later.Events);
        Assert.DoesNotContain(later.Actions, a => a is CreatePod);
    }

    /// <summary>
    /// The property Wait exists for, over every combination of pod states, Node states, times and a second attempt:
    /// whenever a pod of the job is still alive, no new pod is created.
    /// </summary>
    [Fact]
    public void Decide_Should_NeverCreateASecondTrainer_When_ThePolicyIsWait()
    {
        var nodeStates = new (string Name, V1Node? Node, bool Known)[]
        {
            ("healthy", Healthy(), true),
            ("unreachable", Unreachable, true),
            ("not ready", NodeBuilder.Named(Node).NotReady(Lost).Build(), true),
            ("deleted", null, true),
            ("unknown", null, false),
        };
        var pods = new (string Name, Func<TrainingJob, int, V1Pod> Build)[]
        {
            ("pending on the node", (j, a) => PodBuilder.For(j, a).OnNode(Node).Build()),
            ("running", (j, a) => PodBuilder.For(j, a).Running().OnNode(Node).Build()),
            ("terminating", (j, a) => PodBuilder.For(j, a).Running().Deleting().OnNode(Node).Build()),
            ("evicted by the taint manager", (j, a) => PodBuilder.For(j, a).Running().Disrupted("DeletionByTaintManager", Lost.AddSeconds(30)).Deleting().OnNode(Node).Build()),
            ("marked by pod GC, not ended", (j, a) => PodBuilder.For(j, a).Running().Disrupted("DeletionByPodGC", Lost.AddSeconds(30)).Deleting().OnNode(Node).Build()),
            ("ended", (j, a) => PodBuilder.For(j, a).Disrupted("DeletionByPodGC", Lost.AddSeconds(30)).Exited(137).Deleting().OnNode(Node).Build()),
        };
        var jobs = new (string Name, Func<TrainingJob> Build, int Attempt)[]
        {
            ("running attempt 1", () => Job(NodeLossPolicies.Wait, 0).InPhase(JobPhases.Running).WithStatus(s => s.ActivePod = "mnist-attempt-1").Build(), 1),
            ("waiting on attempt 1", () => Job().InPhase(JobPhases.Restarting).WithStatus(s => s.NodeLoss = Recorded(NodeLossPolicies.Wait)).Build(), 1),
            ("attempt 1 recorded preempted", () => Job().AfterRecordedEnd(1, AttemptOutcomes.Preempted).WithStatus(s => s.Preemptions = 1).Build(), 1),
            ("attempt 2 ended, attempt 1 lingering", () => Job().InPhase(JobPhases.Running, attempt: 2).WithStatus(s => s.Preemptions = 1).Build(), 2),
        };
        var violations = new List<string>();
        foreach (var node in nodeStates)
        {
            var known = node.Known ? new Dictionary<string, V1Node?> { [Node] = node.Node } : new Dictionary<string, V1Node?>();
            foreach (var pod in pods)
            {
                foreach (var j in jobs)
                {
                    foreach (var after in new[] { 0, 29, 31, 61, 301, 3600 })
                    {
                        var job = j.Build();
                        var observed = new List<V1Pod> { pod.Build(job, 1) };
                        if (j.Attempt == 2)
                        {
                            observed.Add(PodBuilder.For(job, 2).Checkpointed(150, 1, 86).OnNode(Other).Build());
                        }

                        var decision = TrainingJobDecider.Decide(job, observed, Lost.AddSeconds(after), nodes: known);
                        var alive = observed.Where(p => PodClassifier.StateOf(p) != PodState.Ended).Select(p => p.Metadata.Name).ToList();
                        if (alive.Count > 0 && decision.Actions.OfType<CreatePod>().Any())
                        {
                            violations.Add($"node {node.Name}, pod {pod.Name}, job {j.Name}, {after}s after the loss: created a pod while {string.Join(", ", alive)} lives");
                        }
                    }
                }
            }
        }

        Assert.True(violations.Count == 0, string.Join("\n", violations));
    }

    private static string Describe(JobAction action) => action switch
    {
        CreatePod c => $"Create {c.Attempt}",
        DeletePod d => $"Delete {d.Name}",
        ReleasePod r => $"Release {r.Name}",
        DeleteJob => "DeleteJob",
        _ => action.ToString(),
    };
}
