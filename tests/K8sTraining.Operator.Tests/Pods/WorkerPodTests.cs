using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Pods;
using K8sTraining.Operator.Reconciliation;
using K8sTraining.Operator.Tests.Builders;
using k8s.Models;

namespace K8sTraining.Operator.Tests.Pods;

/// <summary>The pods and the headless Service of a multi-worker job (issue 18), and the single pod that stays as it was.</summary>
[Trait("Category", "Unit")]
public sealed class WorkerPodTests
{
    private static TrainingJob Job(int workers = 2, int? perWorker = null, string name = "mnist") =>
        TrainingJobBuilder.Default(name).WithSpec(s => { s.Workers = workers; s.ProcessesPerWorker = perWorker; }).Build();

    private static Dictionary<string, V1EnvVar> Env(V1Pod pod) => pod.Spec.Containers.Single().Env.ToDictionary(e => e.Name);

    [Fact]
    public void Build_Should_NameAndAddressEachWorker_When_TheJobHasSeveral()
    {
        var job = Job();

        var pod = TrainerPodBuilder.Build(job, 3, worker: new WorkerSlot(1, 2));

        Assert.Equal("mnist-attempt-3-worker-1", pod.Metadata.Name);
        Assert.Equal("mnist-attempt-3-worker-1", pod.Spec.Hostname);
        Assert.Equal("mnist-workers", pod.Spec.Subdomain);
        Assert.Equal("1", pod.Metadata.Labels[WellKnown.WorkerRankLabel]);
        Assert.Equal("3", pod.Metadata.Labels[WellKnown.AttemptLabel]);
        Assert.Equal("mnist", pod.Metadata.Labels[WellKnown.JobNameLabel]);
        Assert.Equal("2", pod.Metadata.Annotations[WellKnown.WorkersAnnotation]);
    }

    /// <summary>One row: a worker and the distributed variables it must get.</summary>
    public sealed record EnvCase(string Name, int Workers, int? PerWorker, int Rank, string WorldSize, string RankValue, string LocalWorldSize, string MasterAddress)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<EnvCase> EnvCases() => new()
    {
        new("a single pod talks to itself", 1, null, 0, "1", "0", "1", "127.0.0.1"),
        new("worker 0 of 2", 2, null, 0, "2", "0", "1", "mnist-attempt-1-worker-0.mnist-workers"),
        new("worker 1 of 2", 2, null, 1, "2", "1", "1", "mnist-attempt-1-worker-0.mnist-workers"),
        new("worker 2 of 3 with 4 processes each", 3, 4, 2, "12", "8", "4", "mnist-attempt-1-worker-0.mnist-workers"),
    };

    [Theory]
    [MemberData(nameof(EnvCases))]
    public void Build_Should_GiveThePyTorchJobEnvironment_When_BuildingAWorker(EnvCase c)
    {
        var pod = TrainerPodBuilder.Build(Job(c.Workers, c.PerWorker), 1, worker: new WorkerSlot(c.Rank, c.Workers));

        var env = Env(pod);
        Assert.Equal(c.WorldSize, env[DistributedEnvironment.WorldSize].Value);
        Assert.Equal(c.RankValue, env[DistributedEnvironment.Rank].Value);
        Assert.Equal("0", env[DistributedEnvironment.LocalRank].Value);
        Assert.Equal(c.LocalWorldSize, env[DistributedEnvironment.LocalWorldSize].Value);
        Assert.Equal(c.MasterAddress, env[DistributedEnvironment.MasterAddress].Value);
        Assert.Equal("29500", env[DistributedEnvironment.MasterPort].Value);
        Assert.Equal("status.podIP", env[DistributedEnvironment.PodIP].ValueFrom.FieldRef.FieldPath);
    }

    [Fact]
    public void Build_Should_KeepTheSinglePodAsBefore_When_TheJobHasOneWorker()
    {
        var pod = TrainerPodBuilder.Build(Job(1), 2);

        Assert.Equal("mnist-attempt-2", pod.Metadata.Name);
        Assert.Null(pod.Spec.Hostname);
        Assert.Null(pod.Spec.Subdomain);
        Assert.False(pod.Metadata.Labels.ContainsKey(WellKnown.WorkerRankLabel));
        Assert.False(pod.Metadata.Labels.ContainsKey(PodGroupMetadata.KueueGroupName));
        Assert.Null(pod.Metadata.Annotations);
    }

    [Fact]
    public void Build_Should_MarkThePodGroupForGangSchedulers_When_TheJobHasSeveralWorkers()
    {
        var pod = TrainerPodBuilder.Build(Job(4), 2, worker: new WorkerSlot(3, 4));

        Assert.Equal("mnist-attempt-2", pod.Metadata.Labels[PodGroupMetadata.KueueGroupName]);
        Assert.Equal("4", pod.Metadata.Annotations[PodGroupMetadata.KueueTotalCount]);
        Assert.Equal("mnist-workers", pod.Metadata.Annotations[PodGroupMetadata.VolcanoGroupName]);
        Assert.Equal("mnist-workers", pod.Metadata.Labels[PodGroupMetadata.CoschedulingGroup]);
    }

    [Fact]
    public void Build_Should_MakeAHeadlessServiceOwnedByTheJob_When_TheJobHasSeveralWorkers()
    {
        var job = Job();

        var service = WorkerService.Build(job);

        Assert.Equal("mnist-workers", service.Metadata.Name);
        Assert.Equal("None", service.Spec.ClusterIP);
        Assert.True(service.Spec.PublishNotReadyAddresses);
        Assert.Equal(new Dictionary<string, string> { [WellKnown.JobNameLabel] = "mnist" }, service.Spec.Selector);
        Assert.Equal(("rendezvous", 29500), (service.Spec.Ports.Single().Name, service.Spec.Ports.Single().Port));
        var owner = service.Metadata.OwnerReferences.Single();
        Assert.Equal((TrainingJob.KubeKind, "mnist", job.Metadata.Uid, true), (owner.Kind, owner.Name, owner.Uid, owner.Controller == true));
        Assert.True(WorkerService.IsOwnedBy(service, job));
        Assert.False(WorkerService.Adoptable(service));
    }

    /// <summary>One row: a job name and what its worker and Service names must satisfy.</summary>
    [Theory]
    [InlineData("short name", "mnist")]
    [InlineData("a dotted name", "team.vision.mnist")]
    [InlineData("a name starting with a digit", "7-layers")]
    [InlineData("a 63-character name", "a23456789012345678901234567890123456789012345678901234567890123")]
    public void Names_Should_BeDnsLabels_When_TheJobNameIsAnyValidName(string because, string name)
    {
        var worker = PodNames.ForWorker(name, 12, 7);
        var service = PodNames.ServiceFor(name);

        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(worker, "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"), $"{because}: worker {worker}");
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(service, "^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"), $"{because}: service {service}");
        Assert.EndsWith("-attempt-12-worker-7", worker, StringComparison.Ordinal);
        Assert.EndsWith("-workers", service, StringComparison.Ordinal);
        Assert.NotEqual(PodNames.ForWorker(name + "x", 12, 7), worker);
    }

    /// <summary>One row: a bad multi-worker spec and the words its SpecValid message must have.</summary>
    [Theory]
    [InlineData("no workers", 0, null, null, null, "spec.workers must be at least 1")]
    [InlineData("no processes", 2, 0, null, null, "spec.processesPerWorker must be at least 1")]
    [InlineData("two processes per pod of the built-in trainer, which starts one", 2, 2, null, null, "the built-in trainer (spec.training) runs one process per worker pod")]
    [InlineData("a zero start timeout", 2, null, 0L, null, "spec.gang.startTimeoutSeconds must be at least 1")]
    [InlineData("the user sets RANK", 2, null, null, "RANK", "spec.env[0].name 'RANK' is a distributed-training variable")]
    public void Validate_Should_SayWhatIsWrong_When_TheWorkerFieldsAreBad(string because, int workers, int? perWorker, long? timeout, string? env, string expected)
    {
        var job = TrainingJobBuilder.Default().WithSpec(s =>
        {
            s.Workers = workers;
            s.ProcessesPerWorker = perWorker;
            s.Gang = timeout is null ? null : new GangSpec { StartTimeoutSeconds = timeout };
            s.Env = env is null ? null : [new V1EnvVar { Name = env, Value = "1" }];
        }).Build();

        var errors = SpecValidator.Validate(job.Spec);

        Assert.True(errors.Any(e => e.Contains(expected, StringComparison.Ordinal)), $"{because}: {string.Join("; ", errors)}");
    }

    [Fact]
    public void Validate_Should_AcceptAMultiWorkerSpec_When_EveryFieldIsInRange()
    {
        var builtIn = TrainingJobBuilder.Default().WithSpec(s => { s.Workers = 8; s.Gang = new GangSpec { StartTimeoutSeconds = 120 }; }).Build();
        // Processes per worker are for an image that starts its own (torchrun --nproc-per-node).
        var launcher = TrainingJobBuilder.Default().WithSpec(s => { s.Training = null; s.Image = "ghcr.io/acme/torchrun-ddp:1.0"; s.Workers = 8; s.ProcessesPerWorker = 4; s.Gang = new GangSpec { StartTimeoutSeconds = 120 }; }).Build();

        Assert.Empty(SpecValidator.Validate(builtIn.Spec));
        Assert.Empty(SpecValidator.Validate(launcher.Spec));
    }
}
