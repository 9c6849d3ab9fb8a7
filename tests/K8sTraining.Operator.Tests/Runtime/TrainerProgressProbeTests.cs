using System.Net;
using System.Text;
using K8sTraining.Operator.Reconciliation;
using K8sTraining.Operator.Runtime;
using K8sTraining.Operator.Tests.Builders;
using K8sTraining.Operator.Tests.Integration;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

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

    [Trait("Category", "Unit")]
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

    [Trait("Category", "Unit")]
    [Theory]
    [InlineData("no_value{a=\"1\"}")]
    [InlineData("broken{a=\"1\" 5")]
    [InlineData("bad_number 1,5")]
    public void Parse_Should_SkipALine_When_ItCannotBeRead(string line)
    {
        Assert.Single(PrometheusText.Parse(line + "\nok_metric 1\n"));
    }

    [Trait("Category", "Unit")]
    [Fact]
    public void Report_Should_TakeOnlyThisJobsSamples_When_TwoTrainersShareAPort()
    {
        var job = TrainingJobBuilder.Default().Build();

        var report = TrainerProgressProbe.Report(job, "mnist-attempt-1", PrometheusText.Parse(Scrape));

        Assert.Equal(new TrainerReport("mnist-attempt-1", new TrainingPosition(137, 2, 9), new TrainingPosition(120, 1, 120)), report);
    }

    [Trait("Category", "Unit")]
    [Theory]
    [InlineData("all three gauges with their labels", true, true, true)]
    [InlineData("no best yet", false, false, false)]
    [InlineData("a value without its metric label", true, true, false)]
    public void Report_Should_ReadTheBest_When_TheTrainerExportsItsGauges(string name, bool step, bool value, bool labels)
    {
        var job = TrainingJobBuilder.Default().Build();
        var label = labels ? ",metric=\"val-accuracy\",weights=\"ema\"" : "";
        var lines = new List<string>();
        if (step)
        {
            lines.Add($"k8straining_trainer_best_global_step{{job_namespace=\"default\",job_name=\"mnist\"{label}}} 120");
            lines.Add($"k8straining_trainer_best_epoch{{job_namespace=\"default\",job_name=\"mnist\"{label}}} 1");
            lines.Add($"k8straining_trainer_best_global_step{{job_namespace=\"default\",job_name=\"other\"{label}}} 999");
        }
        if (value)
        {
            lines.Add($"k8straining_trainer_best_value{{job_namespace=\"default\",job_name=\"mnist\"{label}}} 0.9125");
        }
        var text = Scrape.Replace("# EOF", string.Join('\n', lines) + "\n# EOF", StringComparison.Ordinal);

        var report = TrainerProgressProbe.Report(job, "mnist-attempt-1", PrometheusText.Parse(text));

        var expected = step && value && labels ? new K8sTraining.Contract.BestCheckpoint(120, 1, "val-accuracy", 0.9125, "ema") : null;
        Assert.True(expected == report?.Best, $"{name}: {report?.Best}");
        Assert.NotNull(report);
    }

    [Trait("Category", "Unit")]
    [Theory]
    [InlineData("a staged run in its second stage", true, 1, "full-size")]
    [InlineData("a run without stages", false, 0, null)]
    public void Report_Should_ReadTheStage_When_TheTrainerExportsItsStageGauge(string why, bool staged, int index, string? name)
    {
        var job = TrainingJobBuilder.Default().Build();
        var text = staged ? Scrape.Replace("# EOF", $"k8straining_trainer_stage_index{{job_namespace=\"default\",job_name=\"mnist\",stage=\"{name}\"}} {index}\n# EOF", StringComparison.Ordinal) : Scrape;

        var report = TrainerProgressProbe.Report(job, "mnist-attempt-1", PrometheusText.Parse(text));

        Assert.NotNull(report);
        Assert.True(Equals(staged ? new TrainerStage(index, name) : null, report.Stage), $"{why}: {report.Stage}");
    }

    [Trait("Category", "Unit")]
    [Fact]
    public void Report_Should_HaveNoCheckpoint_When_TheTrainerHasNotCommittedOne()
    {
        var job = TrainingJobBuilder.Default().Build();
        var text = string.Join('\n', Scrape.Split('\n').Where(l => !l.Contains("checkpoint", StringComparison.Ordinal)));

        var report = TrainerProgressProbe.Report(job, "mnist-attempt-1", PrometheusText.Parse(text));

        Assert.NotNull(report);
        Assert.Null(report.Checkpoint);
    }

    [Trait("Category", "Unit")]
    [Theory]
    [InlineData("resumed from a checkpoint", 100, 1, 36)]
    [InlineData("started from the beginning", 0, 0, 0)]
    public void Report_Should_SayWhereTheAttemptResumed_When_TheTrainerExportsIt(string why, long step, int epoch, long inEpoch)
    {
        var job = TrainingJobBuilder.Default().Build();
        var text = Scrape.Replace("# EOF", $$"""
            k8straining_trainer_resumed_from_global_step{job_namespace="default",job_name="mnist"} {{step}}
            k8straining_trainer_resumed_from_epoch{job_namespace="default",job_name="mnist"} {{epoch}}
            k8straining_trainer_resumed_from_step_in_epoch{job_namespace="default",job_name="mnist"} {{inEpoch}}
            k8straining_trainer_resumed_from_global_step{job_namespace="default",job_name="other"} 999
            # EOF
            """, StringComparison.Ordinal);

        var report = TrainerProgressProbe.Report(job, "mnist-attempt-2", PrometheusText.Parse(text));

        Assert.True(new TrainingPosition(step, epoch, inEpoch) == report?.ResumedFrom, why);
        Assert.Null(TrainerProgressProbe.Report(job, "mnist-attempt-2", PrometheusText.Parse(Scrape))?.ResumedFrom);
    }

    [Trait("Category", "Unit")]
    [Fact]
    public void Report_Should_BeNull_When_TheScrapeHasNoPositionForThisJob()
    {
        var job = TrainingJobBuilder.Default("elsewhere").Build();

        Assert.Null(TrainerProgressProbe.Report(job, "elsewhere-attempt-1", PrometheusText.Parse(Scrape)));
    }
    [Trait("Category", "Integration")]
    [Fact]
    public async Task ReadAsync_Should_AskAgainAtOnce_When_TheTrainerRefusesWhileStarting()
    {
        var (job, pod, port) = RunningJob();
        var clock = new ManualClock(TrainingJobBuilder.T0);
        using var http = new HttpClient();
        var probe = new TrainerProgressProbe(http, clock, TimeSpan.FromSeconds(30), NullLogger<TrainerProgressProbe>.Instance);

        // Nothing listens yet (the trainer is loading data): refused, no report, no backoff.
        Assert.Null(await probe.ReadAsync(job, pod, CancellationToken.None));
        using var server = ScrapeServer.Start(port, answer: true);

        var report = await probe.ReadAsync(job, pod, CancellationToken.None);

        Assert.Equal(1, server.Requests);
        Assert.Equal(new TrainingPosition(137, 2, 9), report?.Position);

        // Not running: not asked at all.
        pod.Status.Phase = "Pending";
        Assert.Null(await probe.ReadAsync(job, pod, CancellationToken.None));
        Assert.Equal(1, server.Requests);
    }

    [Trait("Category", "Integration")]
    [Fact]
    public async Task ReadAsync_Should_LeaveThePodAloneForABackoff_When_ItDoesNotAnswerInTime()
    {
        var (job, pod, port) = RunningJob();
        var clock = new ManualClock(TrainingJobBuilder.T0);
        using var http = new HttpClient();
        var probe = new TrainerProgressProbe(http, clock, TimeSpan.FromSeconds(30), NullLogger<TrainerProgressProbe>.Instance);
        using (var silent = ScrapeServer.Start(port, answer: false))
        {
            // Accepted but never answered, as behind a firewall that drops: one timeout, then a backoff.
            Assert.Null(await probe.ReadAsync(job, pod, CancellationToken.None));
            Assert.Equal(1, silent.Connections);
        }

        using var server = ScrapeServer.Start(port, answer: true);
        clock.Advance(TrainerProgressProbe.FirstBackoff - TimeSpan.FromSeconds(1));
        Assert.Null(await probe.ReadAsync(job, pod, CancellationToken.None));
        Assert.Equal(0, server.Connections);

        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(new TrainingPosition(137, 2, 9), (await probe.ReadAsync(job, pod, CancellationToken.None))?.Position);
        Assert.Equal(1, server.Requests);
    }

    [Trait("Category", "Unit")]
    [Fact]
    public void Report_Should_TakeTheCommittedPositionAsProgress_When_OnlyACheckpointSyncSidecarAnswers()
    {
        // What the checkpoint-sync sidecar serves: the committed position and where the attempt resumed, no live position.
        const string sidecar = """
            k8straining_trainer_checkpoint_global_step{job_namespace="default",job_name="mnist"} 120
            k8straining_trainer_checkpoint_epoch{job_namespace="default",job_name="mnist"} 1
            k8straining_trainer_checkpoint_step_in_epoch{job_namespace="default",job_name="mnist"} 20
            k8straining_trainer_resumed_from_global_step{job_namespace="default",job_name="mnist"} 100
            k8straining_trainer_resumed_from_epoch{job_namespace="default",job_name="mnist"} 1
            k8straining_trainer_resumed_from_step_in_epoch{job_namespace="default",job_name="mnist"} 0
            """;
        var job = TrainingJobBuilder.Default().Build();

        var report = TrainerProgressProbe.Report(job, "mnist-attempt-2", PrometheusText.Parse(sidecar));

        Assert.Equal(new TrainingPosition(120, 1, 20), report?.Position);
        Assert.Equal(new TrainingPosition(120, 1, 20), report?.Checkpoint);
        Assert.Equal(new TrainingPosition(100, 1, 0), report?.ResumedFrom);
    }

    [Trait("Category", "Integration")]
    [Fact]
    public async Task ReadAsync_Should_AskTheCheckpointSyncSidecarsPort_When_ThePodHasTheSidecar()
    {
        var (job, pod, trainerPort) = RunningJob();
        var sidecarPort = OperatorProcess.FreePort();
        pod.Spec.InitContainers = [new V1Container
        {
            Name = K8sTraining.Contract.CheckpointSyncContract.ContainerName,
            Ports = [new V1ContainerPort { Name = K8sTraining.Operator.Api.WellKnown.SyncMetricsPortName, ContainerPort = sidecarPort }],
        }];
        using var http = new HttpClient();
        var probe = new TrainerProgressProbe(http, new ManualClock(TrainingJobBuilder.T0), TimeSpan.FromSeconds(30), NullLogger<TrainerProgressProbe>.Instance);
        using var server = ScrapeServer.Start(sidecarPort, answer: true);

        // The trainer's port has nothing behind it (a trainer that serves no metrics): the sidecar's answer is the report.
        var report = await probe.ReadAsync(job, pod, CancellationToken.None);

        Assert.NotEqual(trainerPort, sidecarPort);
        Assert.Equal(1, server.Requests);
        Assert.Equal(new TrainingPosition(120, 1, 120), report?.Checkpoint);
    }

    private static (K8sTraining.Operator.Api.TrainingJob Job, V1Pod Pod, int Port) RunningJob()
    {
        var job = TrainingJobBuilder.Default().Build();
        var port = OperatorProcess.FreePort();
        job.Spec.MetricsPort = port;
        var pod = PodBuilder.For(job, 1).Running().Build();
        pod.Status.PodIP = "127.0.0.1";
        return (job, pod, port);
    }

    /// <summary>A TCP server on loopback that answers GET /metrics with <see cref="Scrape"/>, or accepts and stays silent.</summary>
    private sealed class ScrapeServer : IDisposable
    {
        private readonly System.Net.Sockets.TcpListener _listener;
        private readonly CancellationTokenSource _stop = new();
        private readonly List<System.Net.Sockets.TcpClient> _held = [];
        private int _connections;
        private int _requests;

        private ScrapeServer(int port, bool answer)
        {
            _listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, port);
            _listener.Start();
            _ = Task.Run(() => AcceptAsync(answer));
        }

        public int Connections => Volatile.Read(ref _connections);

        public int Requests => Volatile.Read(ref _requests);

        public static ScrapeServer Start(int port, bool answer) => new(port, answer);

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            lock (_held)
            {
                _held.ForEach(c => c.Dispose());
            }
        }

        private async Task AcceptAsync(bool answer)
        {
            while (!_stop.IsCancellationRequested)
            {
                System.Net.Sockets.TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync(_stop.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or System.Net.Sockets.SocketException or ObjectDisposedException)
                {
                    return;
                }

                Interlocked.Increment(ref _connections);
                lock (_held)
                {
                    _held.Add(client);
                }

                if (!answer)
                {
                    continue;
                }

                var stream = client.GetStream();
                var buffer = new byte[4096];
                var read = await stream.ReadAsync(buffer);
                var request = Encoding.ASCII.GetString(buffer, 0, read);
                Interlocked.Increment(ref _requests);
                var body = Encoding.UTF8.GetBytes(request.StartsWith("GET /metrics ", StringComparison.Ordinal) ? Scrape : "");
                var head = Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n");
                await stream.WriteAsync(head);
                await stream.WriteAsync(body);
                client.Dispose();
            }
        }
    }

    private sealed class ManualClock(DateTimeOffset start) : TimeProvider
    {
        private DateTimeOffset _now = start;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
