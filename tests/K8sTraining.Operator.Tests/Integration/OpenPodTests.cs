using K8sTraining.Operator.Api;
using K8sTraining.Operator.Pods;
using K8sTraining.Operator.Reconciliation;
using k8s.Models;

namespace K8sTraining.Operator.Tests.Integration;

/// <summary>
/// The opened pod (issue 17) through the real operator and the local cluster: the user's volumes, mounts, labels,
/// annotations and init containers reach the trainer pod, a mounted volume works in the trainer, and a value that takes
/// over the operator's part of the pod is refused on the job. The local node agent runs init containers the kubelet's
/// way (see localcluster/images.yaml): the first test's init container writes into the shared volume before the
/// trainer, which checks it is there.
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "Integration")]
public sealed class OpenPodTests(ClusterFixture cluster)
{
    [Fact]
    public async Task Operator_Should_CreateThePodWithTheUsersVolumeMountLabelsAndInitContainer_When_TheSpecOpensThePod()
    {
        var ns = await cluster.NewNamespaceAsync("openpod");
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-openpod");
        await cluster.CreateJobAsync(ClusterFixture.ScriptJob(ns, "opened", """test "$(cat "$SCRATCH/prepared")" = yes || exit 3""", s =>
        {
            s.Volumes = [new V1Volume { Name = "scratch", EmptyDir = new V1EmptyDirVolumeSource() }];
            s.VolumeMounts = [new V1VolumeMount { Name = "scratch", MountPath = "/scratch" }];
            s.Env = [.. s.Env!, new V1EnvVar { Name = "SCRATCH", Value = "/scratch" }];
            s.InitContainers = [new V1Container
            {
                Name = "prepare",
                Image = ClusterFixture.ScriptImage,
                Env = [new V1EnvVar { Name = "TEST_SCRIPT", Value = """sleep 0.5; echo yes > "$SCRATCH/prepared" """ }, new V1EnvVar { Name = "SCRATCH", Value = "/scratch" }],
                VolumeMounts = [new V1VolumeMount { Name = "scratch", MountPath = "/scratch" }],
            }];
            s.PodMetadata = new PodMetadataSpec
            {
                Labels = new Dictionary<string, string> { ["team"] = "vision" },
                Annotations = new Dictionary<string, string> { ["example.com/owner"] = "ml platform" },
            };
        }));

        var pod = Assert.Single(await Eventually.GetAsync(() => cluster.PodsAsync(ns), pods => pods.Count > 0, TimeSpan.FromSeconds(60), "the trainer pod"));

        Assert.Equal([TrainerPodBuilder.CheckpointVolume, "scratch"], pod.Spec.Volumes.Select(v => v.Name));
        Assert.NotNull(pod.Spec.Volumes[1].EmptyDir);
        var trainer = Assert.Single(pod.Spec.Containers);
        Assert.Equal(WellKnown.TrainerContainer, trainer.Name);
        Assert.Contains(trainer.VolumeMounts, m => m is { Name: "scratch", MountPath: "/scratch" });
        Assert.Equal(["prepare"], pod.Spec.InitContainers.Select(c => c.Name));
        Assert.Equal("vision", pod.Metadata.Labels["team"]);
        Assert.Equal("opened", pod.Metadata.Labels[WellKnown.JobNameLabel]);
        Assert.Equal("ml platform", pod.Metadata.Annotations["example.com/owner"]);
        Assert.Equal("Never", pod.Spec.RestartPolicy);

        // What the local node agent does with it: the init container runs to completion first, then the trainer.
        var job = await cluster.WaitForJobAsync(ns, "opened", j => j.Status?.Phase is JobPhases.Succeeded or JobPhases.Failed, "finished");
        Assert.True(job.Status!.Phase == JobPhases.Succeeded, $"the trainer did not find what its init container prepared: {job.Status.LastTermination?.Message}");
        var ended = (await cluster.PodsAsync(ns)).Single();
        Assert.Equal(0, ended.Status.InitContainerStatuses.Single(c => c.Name == "prepare").State.Terminated.ExitCode);
    }

    [Fact]
    public async Task Operator_Should_RunTheTrainerWithTheUsersVolumeMounted_When_TheSpecMountsAnEmptyDir()
    {
        var ns = await cluster.NewNamespaceAsync("mounted");
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-mounted");
        // The node agent maps an env value under a mountPath to the volume's directory, as the container would see it.
        const string WritesAndReads = """echo ok > "$SCRATCH/probe" && test "$(cat "$SCRATCH/probe")" = ok && test -d "$SCRATCH" || exit 3""";
        await cluster.CreateJobAsync(ClusterFixture.ScriptJob(ns, "scratchy", WritesAndReads, s =>
        {
            s.Volumes = [new V1Volume { Name = "scratch", EmptyDir = new V1EmptyDirVolumeSource() }];
            s.VolumeMounts = [new V1VolumeMount { Name = "scratch", MountPath = "/scratch" }];
            s.Env = [.. s.Env!, new V1EnvVar { Name = "SCRATCH", Value = "/scratch" }];
            s.PodMetadata = new PodMetadataSpec { Labels = new Dictionary<string, string> { ["team"] = "vision" } };
        }));

        var job = await cluster.WaitForJobAsync(ns, "scratchy", j => j.Status?.Phase is JobPhases.Succeeded or JobPhases.Failed, "finished");

        Assert.True(job.Status!.Phase == JobPhases.Succeeded, $"the trainer could not use its mounted volume: {job.Status.LastTermination?.Message}");
        Assert.Equal("vision", (await cluster.PodsAsync(ns)).Single().Metadata.Labels["team"]);
    }

    [Fact]
    public async Task Operator_Should_RefuseTheJobNamingTheField_When_AUserValueTakesOverTheContractEnvironment()
    {
        var ns = await cluster.NewNamespaceAsync("collide");
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-collide");
        await cluster.CreateJobAsync(ClusterFixture.ScriptJob(ns, "collides", "exit 0", s =>
        {
            s.Env = [.. s.Env!, new V1EnvVar { Name = "TRAINER_CHECKPOINT_DIR", Value = "/elsewhere" }];
            s.Sidecars = [new V1Container { Name = WellKnown.TrainerContainer, Image = ClusterFixture.ScriptImage }];
        }));

        var job = await cluster.WaitForJobAsync(ns, "collides", j => Conditions.Find(j.Status?.Conditions, ConditionTypes.SpecValid)?.Status == "False", "SpecValid False");

        var condition = Conditions.Find(job.Status!.Conditions, ConditionTypes.SpecValid)!;
        Assert.Equal(ConditionReasons.InvalidSpec, condition.Reason);
        Assert.Contains("spec.env[1].name 'TRAINER_CHECKPOINT_DIR'", condition.Message, StringComparison.Ordinal);
        Assert.Contains("spec.sidecars[0].name 'trainer'", condition.Message, StringComparison.Ordinal);
        Assert.Empty(await cluster.PodsAsync(ns));
    }
}
