using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Reconciliation;
using K8sTraining.Operator.Tests.Builders;
using k8s.Models;

namespace K8sTraining.Operator.Tests.Reconciliation;

/// <summary>spec.checkpoint.sync: its values, what each needs, and what the sidecar takes from the pod.</summary>
[Trait("Category", "Unit")]
public sealed class CheckpointSyncValidatorTests
{
    public sealed record Case(string Name, Action<TrainingJobSpec> Change, string? Error)
    {
        public override string ToString() => Name;
    }

    private static void Custom(TrainingJobSpec s)
    {
        s.Training = null;
        s.Image = "me/trainer:1";
    }

    public static TheoryData<Case> Cases() => new()
    {
        new("sidecar with a uri", s => s.Checkpoint!.Sync = CheckpointSyncModes.Sidecar, null),
        new("trainer with a uri", s => s.Checkpoint!.Sync = CheckpointSyncModes.Trainer, null),
        new("none without a uri", s => s.Checkpoint = new CheckpointSpec { Sync = CheckpointSyncModes.None }, null),
        new("unset on a custom trainer with a uri (the sidecar)", Custom, null),
        new("an unknown mode", s => s.Checkpoint!.Sync = "rsync", "spec.checkpoint.sync must be one of sidecar, trainer, none, not 'rsync'"),
        new("sidecar without a uri", s => s.Checkpoint = new CheckpointSpec { Sync = CheckpointSyncModes.Sidecar }, "spec.checkpoint.sync is sidecar but spec.checkpoint.uri is not set: there is no store to sync to; set spec.checkpoint.uri"),
        new("trainer without a uri", s => s.Checkpoint = new CheckpointSpec { Sync = CheckpointSyncModes.Trainer }, "spec.checkpoint.sync is trainer but spec.checkpoint.uri is not set"),
        new("none beside a uri", s => s.Checkpoint!.Sync = CheckpointSyncModes.None, "spec.checkpoint.sync is none (checkpoints stay in the pod) but spec.checkpoint.uri is set and would be unused"),
        new("a user's sidecar named checkpoint-sync", s => { Custom(s); s.Sidecars = [new V1Container { Name = CheckpointSyncContract.ContainerName, Image = "busybox" }]; }, "spec.sidecars[0].name 'checkpoint-sync' is the operator's checkpoint-sync sidecar"),
        new("a user's sidecar named checkpoint-sync without the operator's", s => s.Sidecars = [new V1Container { Name = CheckpointSyncContract.ContainerName, Image = "busybox" }], null),
        new("a user's init container on the sidecar's port", s => { Custom(s); s.InitContainers = [new V1Container { Name = "fetch", Image = "busybox", Ports = [new V1ContainerPort { ContainerPort = CheckpointSyncContract.DefaultMetricsPort }] }]; }, "spec.initContainers[0].ports[0] takes the checkpoint-sync sidecar's metrics port (sync-metrics, 9465)"),
        new("a user's sidecar port named sync-metrics", s => { Custom(s); s.Sidecars = [new V1Container { Name = "proxy", Image = "envoy", Ports = [new V1ContainerPort { Name = "sync-metrics", ContainerPort = 9000 }] }]; }, "spec.sidecars[0].ports[0] takes the checkpoint-sync sidecar's metrics port"),
        new("the trainer's metrics port on the sidecar's", s => { Custom(s); s.MetricsPort = CheckpointSyncContract.DefaultMetricsPort; }, "spec.metricsPort 9465 is the checkpoint-sync sidecar's metrics port"),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Validate_Should_RefuseWithTheFieldNamed_When_CheckpointSyncCannotWork(Case c)
    {
        var job = TrainingJobBuilder.Default().WithSpec(c.Change).Build();

        var errors = SpecValidator.Validate(job.Spec);

        if (c.Error is null)
        {
            Assert.Empty(errors);
        }
        else
        {
            Assert.StartsWith(c.Error, Assert.Single(errors), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Decide_Should_SetSpecValidFalseNamingTheField_When_SyncIsSidecarWithoutAUri()
    {
        var job = TrainingJobBuilder.Default().WithSpec(s => s.Checkpoint = new CheckpointSpec { Sync = CheckpointSyncModes.Sidecar }).Build();

        var decision = TrainingJobDecider.Decide(job, [], TrainingJobBuilder.T0);

        var valid = Assert.Single(decision.Status.Conditions!, c => c.Type == ConditionTypes.SpecValid);
        Assert.Equal(("False", ConditionReasons.InvalidSpec), (valid.Status, valid.Reason));
        Assert.Contains("spec.checkpoint.sync", valid.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(decision.Actions, a => a is CreatePod);
    }
}
