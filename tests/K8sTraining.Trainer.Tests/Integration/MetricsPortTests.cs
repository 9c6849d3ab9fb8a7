using System.Net;
using System.Net.Sockets;
using K8sTraining.Contract;
using K8sTraining.Trainer.Tests.Support;

namespace K8sTraining.Trainer.Tests.Integration;

/// <summary>
/// Metrics never stop training: in a node partition two trainers of one job (the zombie and its replacement) can share
/// a node's metrics port for a while, and the second must train on without /metrics.
/// </summary>
[Collection(TrainerProcessCollection.Name)]
[Trait("Category", "Integration")]
public sealed class MetricsPortTests
{
    [Fact]
    public async Task Train_Should_WarnAndTrainToTheEnd_When_TheMetricsPortIsAlreadyTaken()
    {
        using var holder = new TcpListener(IPAddress.Any, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;
        using var run = new TrainerRun();

        var (code, process) = await TrainerProcess.RunAsync(run.Args("--epochs", "1", "--samples", "256", "--metrics-port", $"{port}"));
        using (process)
        {
            Assert.True(code == TrainerExitCodes.Completed, $"exit {code}\n{process.Stdout}\n{process.Stderr}");
            var line = Assert.Single(process.Stdout.Split('\n'), l => l.Contains($"Could not serve metrics on port {port}", StringComparison.Ordinal));
            Assert.Contains(" warn: ", line, StringComparison.Ordinal);
            Assert.DoesNotContain(" fail: ", process.Stdout, StringComparison.Ordinal);
        }
        Assert.Equal(TerminationStatuses.Completed, run.ReadTerminationReport().Status);
    }
}
