using k8s;
using k8s.Models;
using K8sTraining.Deploy.Tests.Support;
using K8sTraining.LocalCluster.Hosting;
using Xunit.Abstractions;

namespace K8sTraining.Deploy.Tests.Chart;

/// <summary>The paths the chart's probes, Service and ServiceMonitor use, asked of the real operator.</summary>
[Trait("Category", "Integration")]
public sealed class OperatorEndpointsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Operator_Should_ServeTheProbeAndMetricsPathsTheChartUses_When_StartedWithTheChartsArguments()
    {
        var chart = await Renders.OfAsync(ValueSets.Default);
        var container = KubernetesYaml.Deserialize<V1Deployment>(chart.Single("Deployment").Yaml).Spec.Template.Spec.Containers.Single();
        var monitor = (await Renders.OfAsync(ValueSets.ServiceMonitorOn)).Single("ServiceMonitor").Json;
        var paths = new[]
        {
            container.LivenessProbe.HttpGet.Path,
            container.ReadinessProbe.HttpGet.Path,
            (string)monitor["spec"]!["endpoints"]![0]!["path"]!,
        };

        await using var plane = await LocalControlPlane.StartAsync(new LocalControlPlaneOptions());
        await using var running = ChartOperator.Start(chart, plane.BaseUri, output);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var port = await running.HttpPort.WaitAsync(deadline.Token);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        foreach (var path in paths)
        {
            // readiness waits for leadership and synced caches; poll until the deadline
            HttpResponseMessage? last = null;
            while (!deadline.IsCancellationRequested && (last is null || !last.IsSuccessStatusCode))
            {
                Assert.False(running.Crashed, $"the operator exited with {(running.Crashed ? running.ExitCode : 0)}");
                last?.Dispose();
                last = await http.GetAsync(path, CancellationToken.None);
                if (!last.IsSuccessStatusCode)
                {
                    await Task.Delay(100, CancellationToken.None);
                }
            }

            Assert.True(last is { IsSuccessStatusCode: true }, $"GET {path} answered {last?.StatusCode}");
            if (path == "/metrics")
            {
                Assert.Contains("k8straining_", await last!.Content.ReadAsStringAsync(CancellationToken.None));
            }

            last!.Dispose();
        }
    }
}
