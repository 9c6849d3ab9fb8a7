using K8sTraining.Operator.Api;
using K8sTraining.Operator.Reconciliation;
using K8sTraining.Operator.Tests.Builders;
using k8s.Models;

namespace K8sTraining.Operator.Tests.Reconciliation;

/// <summary>The pure reading of a lost Node: its signs, since when, and what each policy does about it.</summary>
[Trait("Category", "Unit")]
public sealed class NodeLossTests
{
    private const string Node = "local-node-2";
    private static readonly DateTimeOffset Lost = TrainingJobBuilder.T0.AddMinutes(4);
    private static readonly DateTimeOffset Now = Lost.AddSeconds(45);

    /// <summary>One row: what the operator sees of the pod's Node, and the sign it must read (null: not lost).</summary>
    public sealed record SignCase(string Name, Func<TrainingJob, V1Pod> Pod, Dictionary<string, V1Node?> Nodes, string? Reason, DateTimeOffset? Since)
    {
        public override string ToString() => Name;
    }

    private static Dictionary<string, V1Node?> Nodes(params (string Name, V1Node? Node)[] nodes) => nodes.ToDictionary(n => n.Name, n => n.Node);

    public static TheoryData<SignCase> SignCases() => new()
    {
        new("a Ready node", j => PodBuilder.For(j, 1).Running().OnNode(Node).Build(), Nodes((Node, NodeBuilder.Named(Node).Build())), null, null),
        new("a pod not bound to a node yet", j => PodBuilder.For(j, 1).Build(), Nodes((Node, null)), null, null),
        new("a node the operator cannot see", j => PodBuilder.For(j, 1).Running().OnNode(Node).Build(), Nodes(), null, null),
        new("Ready Unknown: the node stopped reporting", j => PodBuilder.For(j, 1).Running().OnNode(Node).Build(),
            Nodes((Node, NodeBuilder.Named(Node).Unreachable(Lost, tainted: false).Build())), NodeLoss.NodeUnreachable, Lost),
        new("Ready False: the kubelet says NotReady", j => PodBuilder.For(j, 1).Running().OnNode(Node).Build(),
            Nodes((Node, NodeBuilder.Named(Node).NotReady(Lost, tainted: false).Build())), NodeLoss.NodeNotReady, Lost),
        new("the unreachable taint alone (an older sign than the condition)", j => PodBuilder.For(j, 1).Running().OnNode(Node).Build(),
            Nodes((Node, NodeBuilder.Named(Node).Tainted(WellKnown.UnreachableTaint, Lost).Build())), NodeLoss.NodeUnreachable, Lost),
        new("the earliest sign wins: taint before the Ready transition", j => PodBuilder.For(j, 1).Running().OnNode(Node).Build(),
            Nodes((Node, NodeBuilder.Named(Node).Unreachable(Lost, tainted: false).Tainted(WellKnown.NotReadyTaint, Lost.AddSeconds(-3)).Build())), NodeLoss.NodeNotReady, Lost.AddSeconds(-3)),
        new("a NoSchedule not-ready taint is not the lifecycle controller's eviction taint", j => PodBuilder.For(j, 1).Running().OnNode(Node).Build(),
            Nodes((Node, NodeBuilder.Named(Node).Tainted(WellKnown.NotReadyTaint, Lost, "NoSchedule").Build())), null, null),
        new("a deleted node", j => PodBuilder.For(j, 1).Running().OnNode(Node).Build(), Nodes((Node, null)), NodeLoss.NodeDeleted, null),
        new("a node the operator cannot see, pod evicted by the taint manager", j => PodBuilder.For(j, 1).Running().Disrupted("DeletionByTaintManager", Lost).Deleting().OnNode(Node).Build(),
            Nodes(), "DeletionByTaintManager", Lost),
        new("a node the operator cannot see, pod collected by pod GC", j => PodBuilder.For(j, 1).Running().Disrupted("DeletionByPodGC", Lost).Deleting().OnNode(Node).Build(),
            Nodes(), "DeletionByPodGC", Lost),
        new("a Ready node, pod evicted for another NoExecute taint: the kubelet stops it as usual", j => PodBuilder.For(j, 1).Running().Disrupted("DeletionByTaintManager", Lost).Deleting().OnNode(Node).Build(),
            Nodes((Node, NodeBuilder.Named(Node).Build())), null, null),
        new("an eviction through the API is no node loss", j => PodBuilder.For(j, 1).Running().Disrupted("EvictionByEvictionAPI", Lost).Deleting().OnNode(Node).Build(),
            Nodes(), null, null),
    };

    [Theory]
    [MemberData(nameof(SignCases))]
    public void SignOf_Should_ReadTheEarliestSignOfLoss_When_GivenEachNodeState(SignCase c)
    {
        var sign = NodeLoss.SignOf(c.Pod(TrainingJobBuilder.Default().Build()), c.Nodes);

        Assert.Equal(c.Reason, sign?.Reason);
        Assert.Equal(c.Since, sign?.Since);
        if (sign is not null)
        {
            Assert.Equal(Node, sign.Node);
            Assert.Contains(Node, sign.Description, StringComparison.Ordinal);
        }
    }

    /// <summary>One row: a policy, how long the Node has been lost, and what the operator must do now.</summary>
    public sealed record VerdictCase(string Name, string? Policy, long? ReplaceAfter, int LostForSeconds, bool ReplaceNow, string Reason, TimeSpan? Recheck)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<VerdictCase> VerdictCases() => new()
    {
        new("Wait is the default, however long", null, null, 3600, false, ConditionReasons.WaitingForPodToGo, NodeLoss.WaitRecheck),
        new("Wait never replaces", NodeLossPolicies.Wait, 0, 3600, false, ConditionReasons.WaitingForPodToGo, NodeLoss.WaitRecheck),
        new("Replace before its time looks again when it is due", NodeLossPolicies.Replace, 60, 45, false, ConditionReasons.WaitingToReplace, TimeSpan.FromSeconds(15)),
        new("Replace with the default delay (60 s)", NodeLossPolicies.Replace, null, 45, false, ConditionReasons.WaitingToReplace, TimeSpan.FromSeconds(15)),
        new("Replace when its time has come", NodeLossPolicies.Replace, 60, 60, true, ConditionReasons.ReplacedUnderReplacePolicy, null),
        new("Replace at once", NodeLossPolicies.Replace, 0, 0, true, ConditionReasons.ReplacedUnderReplacePolicy, null),
    };

    [Theory]
    [MemberData(nameof(VerdictCases))]
    public void Judge_Should_FollowThePolicy_When_ThePodsNodeIsLost(VerdictCase c)
    {
        var job = TrainingJobBuilder.Default().WithSpec(s => { s.NodeLossPolicy = c.Policy; s.NodeLossReplaceAfterSeconds = c.ReplaceAfter; }).InPhase(JobPhases.Running).Build();
        var pod = PodBuilder.For(job, 1).Running().OnNode(Node).Build();
        var nodes = Nodes((Node, NodeBuilder.Named(Node).Unreachable(Lost, tainted: false).Build()));

        var verdict = NodeLoss.Judge(job, pod, nodes, Lost.AddSeconds(c.LostForSeconds));

        Assert.NotNull(verdict);
        Assert.Equal((c.ReplaceNow, c.Reason, c.Recheck), (verdict.ReplaceNow, verdict.ConditionReason, verdict.RecheckAfter));
        Assert.Equal(c.Policy ?? NodeLossPolicies.Wait, verdict.Policy);
        Assert.Equal(Lost, verdict.Since);
        // The condition's message names the node, since when, the policy and what the operator waits for.
        Assert.Contains(Node, verdict.Message, StringComparison.Ordinal);
        Assert.Contains(NodeLoss.Time(Lost), verdict.Message, StringComparison.Ordinal);
        Assert.Contains($"nodeLossPolicy {verdict.Policy}", verdict.Message, StringComparison.Ordinal);
        Assert.Contains(pod.Metadata.Name, verdict.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Judge_Should_DateTheLossFromTheStatus_When_TheSignCarriesNoTime()
    {
        // A deleted Node says nothing of when it went: the loss dates from when the status first recorded it.
        var job = TrainingJobBuilder.Default().WithSpec(s => { s.NodeLossPolicy = NodeLossPolicies.Replace; s.NodeLossReplaceAfterSeconds = 30; })
            .InPhase(JobPhases.Restarting)
            .WithStatus(s => s.NodeLoss = new NodeLossRecord { Node = Node, Attempt = 1, Pod = "mnist-attempt-1", Since = Lost.UtcDateTime, Reason = NodeLoss.NodeDeleted })
            .Build();
        var pod = PodBuilder.For(job, 1).Running().OnNode(Node).Build();

        var verdict = NodeLoss.Judge(job, pod, Nodes((Node, null)), Lost.AddSeconds(31));

        Assert.Equal(Lost, verdict?.Since);
        Assert.True(verdict?.ReplaceNow);
        Assert.False(NodeLoss.Judge(job, pod, Nodes((Node, null)), Lost.AddSeconds(29))?.ReplaceNow);
    }

    [Fact]
    public void Judge_Should_SayNothing_When_TheNodeIsHealthy()
    {
        var job = TrainingJobBuilder.Default().WithSpec(s => s.NodeLossPolicy = NodeLossPolicies.Replace).InPhase(JobPhases.Running).Build();

        Assert.Null(NodeLoss.Judge(job, PodBuilder.For(job, 1).Running().OnNode(Node).Build(), Nodes((Node, NodeBuilder.Named(Node).Build())), Now));
    }
}
