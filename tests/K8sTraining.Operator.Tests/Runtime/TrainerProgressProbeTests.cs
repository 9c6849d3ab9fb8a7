using K8sTraining.Operator.Reconciliation;
using K8sTraining.Operator.Runtime;
using K8sTraining.Operator.Tests.Builders;

namespace K8sTraining.Operator.Tests.Runtime;

/// <summary>Reading a trainer's report out of its /metrics text, as OpenTelemetry's Prometheus exporter writes it.</summary>
public sealed class TrainerProgressProbeTests
{
    // The shape of a real scrape of the trainer (text format 0.0.4), with a second job's trainer on the same port.
    private const string Scrape = """
        # TYPE k8straining_trainer_global_step gauge
        # HELP k8straining_trainer_global_step Optimizer steps completed since the start of training (across attempts).
        k8straining_trainer_global_step{job_namespace="default",job_name="mnist",otel_scope_name="K8sTraining.Trainer"} 137 1764412345123
        k8straining_trainer_global_step{job_namespace="default",job_name="other",otel_scope_name="K8sTraining.Trainer"} 999 1764412345123
        k8straining_trainer_epoch{job_namespace="default",job_name="mnist",otel_scope_name="K8sTraining.Trainer"} 2 1764412345123
        k8straining_trainer_step_in_epoch{job_namespace="default",job_name="mnist",otel_scope_name="K8sTraining.Trainer"} 9
        k8straining_trainer_checkpoint_global_step{job_namespace="default",job_name="mnist",otel_scope_name="K8sTraining.Trainer"} 120
        k8straining_trainer_checkpoint_epoch{job_namespace="default",job_name="mnist",otel_scope_name="K8sTraining.Trainer"} 1
        k8straining_trainer_checkpoint_step_in_epoch{job_namespace="default",job_name="mnist",otel_scope_name="K8sTraining.Trainer"} 120
        k8straining_trainer_loss{job_namespace="default",job_name="mnist",note="a \"quoted\", value\n"} NaN
        # EOF
        """;

    [Fact]
    public void Parse_Should_ReadNamesLabelsAndValues_When_GivenExporterText()
    {
        var samples = PrometheusText.Parse(Scrape);

        Assert.Equal(8, samples.Count);
        var loss = samples.Single(s => s.Name == "k8straining_trainer_loss");
        Assert.True(double.IsNaN(loss.Value));
        Assert.Equal("a \"quoted\", value\n", loss.Labels["note"]);
        Assert.Equal(137, samples[0].Value);
        Assert.Equal("K8sTraining.Trainer", samples[0].Labels["otel_scope_name"]);
    }

    [Theory]
    [InlineData("no_value{a=\"1\"}")]
    [InlineData("broken{a=\"1\" 5")]
    [InlineData("bad_number 1,5")]
    public void Parse_Should_SkipALine_When_ItCannotBeRead(string line)
    {
        Assert.Single(PrometheusText.Parse(line + "\nok_metric 1\n"));
    }

    [Fact]
    public void Report_Should_TakeOnlyThisJobsSamples_When_TwoTrainersShareAPort()
    {
        var job = TrainingJobBuilder.Default().Build();

        var report = TrainerProgressProbe.Report(job, "mnist-attempt-1", PrometheusText.Parse(Scrape));

        Assert.Equal(new TrainerReport("mnist-attempt-1", new TrainingPosition(137, 2, 9), new TrainingPosition(120, 1, 120)), report);
    }

    [Fact]
    public void Report_Should_HaveNoCheckpoint_When_TheTrainerHasNotCommittedOne()
    {
        var job = TrainingJobBuilder.Default().Build();
        var text = string.Join('\n', Scrape.Split('\n').Where(l => !l.Contains("checkpoint", StringComparison.Ordinal)));

        var report = TrainerProgressProbe.Report(job, "mnist-attempt-1", PrometheusText.Parse(text));

        Assert.NotNull(report);
        Assert.Null(report.Checkpoint);
    }

    [Fact]
    public void Report_Should_BeNull_When_TheScrapeHasNoPositionForThisJob()
    {
        var job = TrainingJobBuilder.Default("elsewhere").Build();

        Assert.Null(TrainerProgressProbe.Report(job, "elsewhere-attempt-1", PrometheusText.Parse(Scrape)));
    }
}
