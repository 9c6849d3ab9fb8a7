using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Pods;
using K8sTraining.Operator.Reconciliation;
using K8sTraining.Operator.Tests.Builders;
using k8s;
using k8s.Models;

namespace K8sTraining.Operator.Tests.Pods;

/// <summary>spec.checkpoint.sync in the trainer pod: the checkpoint-sync native sidecar, and what the trainer then gets.</summary>
[Trait("Category", "Unit")]
public sealed class CheckpointSyncSidecarTests
{
    private static TrainingJob CustomTrainer(Action<TrainingJobSpec>? change = null) => TrainingJobBuilder.Default().WithSpec(s =>
    {
        s.Image = "registry.example.com/team/pytorch-trainer:3";
        s.Training = null;
        s.Command = ["python", "/app/train.py"];
        s.TerminationGracePeriodSeconds = 90;
        change?.Invoke(s);
    }).Build();

    [Fact]
    public void Build_Should_AddTheCheckpointSyncSidecarFieldByField_When_ACustomTrainerHasACheckpointUri()
    {
        var job = CustomTrainer(s => s.Checkpoint!.Adopt = true);

        var pod = TrainerPodBuilder.Build(job, 3, settings: new PodSettings("registry.example.com/checkpoint-sync:9"));

        var sidecar = Assert.Single(pod.Spec.InitContainers);
        Assert.Equal(CheckpointSyncContract.ContainerName, sidecar.Name);
        Assert.Equal("registry.example.com/checkpoint-sync:9", sidecar.Image);
        Assert.Equal("Always", sidecar.RestartPolicy);
        Assert.Null(sidecar.Command);
        Assert.Null(sidecar.Args);
        Assert.Equal(
            [
                (TrainerEnvironment.CheckpointDirectory, WellKnown.CheckpointDirectory),
                (TrainerEnvironment.CheckpointUri, "s3://k8straining/jobs/mnist"),
                (TrainerEnvironment.KeepCheckpoints, "3"),
                (TrainerEnvironment.JobName, "mnist"),
                (TrainerEnvironment.JobNamespace, "default"),
                (TrainerEnvironment.JobUid, "uid-mnist"),
                (TrainerEnvironment.Attempt, "3"),
                (TrainerEnvironment.CheckpointAdopt, "true"),
                (TrainerEnvironment.TerminationLog, WellKnown.TerminationLog),
                (TrainerEnvironment.ShutdownTimeoutSeconds, "85"),
                (TrainerEnvironment.MetricsPort, "9465"),
            ],
            sidecar.Env.Select(e => (e.Name, e.Value)));
        Assert.All(sidecar.Env, e => Assert.Null(e.ValueFrom));
        // The credentials by reference: the Secret's keys become its environment, its values never enter the pod spec.
        Assert.Equal("s3-credentials", Assert.Single(sidecar.EnvFrom).SecretRef.Name);
        var port = Assert.Single(sidecar.Ports);
        Assert.Equal(("sync-metrics", 9465, "TCP"), (port.Name, port.ContainerPort, port.Protocol));
        Assert.Equal(["test", "-f", WellKnown.CheckpointDirectory + "/.checkpoint-sync-ready"], sidecar.StartupProbe.Exec.Command);
        Assert.Equal((1, CheckpointSyncSidecar.StartupFailureThreshold), (sidecar.StartupProbe.PeriodSeconds, sidecar.StartupProbe.FailureThreshold));
        Assert.True(sidecar.StartupProbe.FailureThreshold * sidecar.StartupProbe.PeriodSeconds >= 3600, "an hour for a large restore");
        Assert.Equal([(TrainerPodBuilder.CheckpointVolume, WellKnown.CheckpointDirectory)], sidecar.VolumeMounts.Select(m => (m.Name, m.MountPath)));
        Assert.Equal((WellKnown.TerminationLog, "FallbackToLogsOnError"), (sidecar.TerminationMessagePath, sidecar.TerminationMessagePolicy));
        // The restricted Pod Security profile, as the trainer's container.
        var security = sidecar.SecurityContext;
        Assert.Equal((true, false, "RuntimeDefault"), (security.RunAsNonRoot, security.AllowPrivilegeEscalation, security.SeccompProfile.Type));
        Assert.Equal(["ALL"], security.Capabilities.Drop);
        Assert.Null(security.Capabilities.Add);
        Assert.Null(security.Privileged);
        Assert.Empty(SpecValidator.Validate(job.Spec));
    }

    [Fact]
    public void Build_Should_GiveTheTrainerNeitherTheUriNorTheSecret_When_TheSidecarSyncs()
    {
        var pod = TrainerPodBuilder.Build(CustomTrainer(), 1);

        var trainer = pod.Spec.Containers.Single();
        var env = trainer.Env.ToDictionary(e => e.Name, e => e.Value);
        Assert.False(env.ContainsKey(TrainerEnvironment.CheckpointUri));
        Assert.Null(trainer.EnvFrom);
        Assert.DoesNotContain(trainer.Env, e => e.Name.StartsWith("AWS_", StringComparison.Ordinal));
        // The rest of the contract stays: it writes its checkpoints to the shared directory.
        Assert.Equal(WellKnown.CheckpointDirectory, env[TrainerEnvironment.CheckpointDirectory]);
        Assert.Equal("1", env[TrainerEnvironment.Attempt]);
        Assert.Equal(WellKnown.TerminationLog, env[TrainerEnvironment.TerminationLog]);
        Assert.Contains(trainer.VolumeMounts, m => m.Name == TrainerPodBuilder.CheckpointVolume && m.MountPath == WellKnown.CheckpointDirectory);
        // The live-edit comparison sees the same environment the pod has.
        Assert.Equal(trainer.Env.Select(e => e.Name), TrainerPodBuilder.EnvironmentOf(CustomTrainer(), 1).Select(e => e.Name));
    }

    [Fact]
    public void Build_Should_PutTheSidecarAfterTheUsersInitContainersAndSidecars_When_TheJobHasSome()
    {
        var job = CustomTrainer(s =>
        {
            s.InitContainers = [new V1Container { Name = "fetch", Image = "busybox" }];
            s.Sidecars = [new V1Container { Name = "proxy", Image = "envoy" }];
        });

        var pod = TrainerPodBuilder.Build(job, 1);

        Assert.Equal(["fetch", "proxy", CheckpointSyncContract.ContainerName], pod.Spec.InitContainers.Select(c => c.Name));
    }

    public sealed record SyncCase(string Name, Action<TrainingJobSpec> Change, bool Sidecar, bool TrainerGetsTheStore)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<SyncCase> Modes() => new()
    {
        new("the built-in trainer syncs itself by default", _ => { }, false, true),
        new("the built-in trainer with sync sidecar", s => s.Checkpoint!.Sync = CheckpointSyncModes.Sidecar, true, false),
        new("a custom trainer gets the sidecar by default", s => { s.Training = null; s.Image = "me/trainer:1"; }, true, false),
        new("a custom trainer with sync trainer syncs itself", s => { s.Training = null; s.Image = "me/trainer:1"; s.Checkpoint!.Sync = CheckpointSyncModes.Trainer; }, false, true),
        new("a custom trainer without a uri has nothing to sync", s => { s.Training = null; s.Image = "me/trainer:1"; s.Checkpoint = null; }, false, false),
    };

    [Theory]
    [MemberData(nameof(Modes))]
    public void Build_Should_AddTheSidecarOnlyWhenItSyncs_When_SyncIsSetOrDefaulted(SyncCase c)
    {
        var job = TrainingJobBuilder.Default().WithSpec(c.Change).Build();

        var pod = TrainerPodBuilder.Build(job, 1);

        Assert.Equal(c.Sidecar, pod.Spec.InitContainers?.Any(i => i.Name == CheckpointSyncContract.ContainerName) == true);
        var trainer = pod.Spec.Containers.Single();
        Assert.Equal(c.TrainerGetsTheStore, trainer.Env.Any(e => e.Name == TrainerEnvironment.CheckpointUri));
        Assert.Equal(c.TrainerGetsTheStore, trainer.EnvFrom is { Count: > 0 });
        Assert.Empty(SpecValidator.Validate(job.Spec));
    }

    [Fact]
    public void Build_Should_WriteNoCredentialIntoThePod_When_TheSidecarSyncs()
    {
        var pod = TrainerPodBuilder.Build(CustomTrainer(), 1);

        // Every variable of every container is a plain contract value or a reference: none carries a key or a secret.
        var json = KubernetesJson.Serialize(pod);
        Assert.DoesNotContain("AWS_SECRET_ACCESS_KEY", json, StringComparison.Ordinal);
        Assert.DoesNotContain("AWS_ACCESS_KEY_ID", json, StringComparison.Ordinal);
        Assert.Contains("\"secretRef\":{\"name\":\"s3-credentials\"}", json, StringComparison.Ordinal);
    }
}
