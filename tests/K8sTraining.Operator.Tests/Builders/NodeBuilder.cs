using K8sTraining.Operator.Api;
using k8s.Models;

namespace K8sTraining.Operator.Tests.Builders;

/// <summary>Nodes as the node lifecycle controller leaves them: <c>NodeBuilder.Named("n1").Unreachable(since).Build()</c>.</summary>
public sealed class NodeBuilder
{
    private readonly V1Node _node;

    private NodeBuilder(string name)
    {
        _node = new V1Node
        {
            Metadata = new V1ObjectMeta { Name = name },
            Spec = new V1NodeSpec(),
            Status = new V1NodeStatus
            {
                Conditions = [new V1NodeCondition { Type = "Ready", Status = "True", Reason = "KubeletReady", LastTransitionTime = TrainingJobBuilder.T0.AddHours(-1).UtcDateTime }],
            },
        };
    }

    public static NodeBuilder Named(string name) => new(name);

    /// <summary>Stopped reporting: Ready Unknown (NodeStatusUnknown) since <paramref name="since"/>, tainted unreachable a moment later.</summary>
    public NodeBuilder Unreachable(DateTimeOffset since, bool tainted = true)
    {
        Ready("Unknown", "NodeStatusUnknown", since);
        return tainted ? Tainted(WellKnown.UnreachableTaint, since.AddSeconds(1)) : this;
    }

    /// <summary>The kubelet says NotReady: Ready False since <paramref name="since"/>, tainted not-ready.</summary>
    public NodeBuilder NotReady(DateTimeOffset since, bool tainted = true)
    {
        Ready("False", "KubeletNotReady", since);
        return tainted ? Tainted(WellKnown.NotReadyTaint, since.AddSeconds(1)) : this;
    }

    public NodeBuilder Tainted(string key, DateTimeOffset? added, string effect = "NoExecute")
    {
        _node.Spec.Taints ??= [];
        _node.Spec.Taints.Add(new V1Taint { Key = key, Effect = effect, TimeAdded = added?.UtcDateTime });
        return this;
    }

    public V1Node Build() => _node;

    private void Ready(string status, string reason, DateTimeOffset since)
    {
        var ready = _node.Status.Conditions.Single(c => c.Type == "Ready");
        ready.Status = status;
        ready.Reason = reason;
        ready.LastTransitionTime = since.UtcDateTime;
    }
}
