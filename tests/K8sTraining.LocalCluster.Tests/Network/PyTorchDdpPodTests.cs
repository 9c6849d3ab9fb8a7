using System.Globalization;
using System.Text.Json;
using Kubectl = K8sTraining.LocalCluster.Tests.ApiServer.Kubectl;
using K8sTraining.LocalCluster.Tests.NodeAgent;
using k8s.Models;
using k8s;
using Xunit.Abstractions;

namespace K8sTraining.LocalCluster.Tests.Network;

/// <summary>
/// The PyTorch example (examples/pytorch/train.py) as a 2-rank DDP run of raw pods, applied with the real kubectl as a
/// PyTorchJob would lay them out: a headless Service, pods with hostname and subdomain, WORLD_SIZE/RANK/MASTER_ADDR
/// (<c>&lt;rank-0 pod&gt;.&lt;service&gt;</c>, resolved through the pods' hosts files)/MASTER_PORT. Two runs share
/// MASTER_PORT 29500 on one node at once; a SIGTERM to one rank stops both at one step with exit 75 and rank 0's
/// checkpoint; a new pair resumes from it and ends with the weights of the uninterrupted run, byte for byte.
/// </summary>
[Trait("Category", "Integration")]
public sealed class PyTorchDdpPodTests(NodeAgentFixture cluster, ITestOutputHelper output) : IClassFixture<NodeAgentFixture>
{
    // 512 samples in global batches of 2 x 16: 16 steps an epoch, 32 in all.
    private const int FinalStep = 32;

    [Fact]
    public async Task DdpPods_Should_StopTogetherAtOneStepAndResumeToTheUninterruptedWeights_When_OneRankIsSignalled()
    {
        Assert.True(File.Exists("/usr/bin/python3"), "/usr/bin/python3 is missing: run scripts/install-deps.sh (python3-torch)");
        var ns = $"ddp-{Guid.NewGuid().ToString("N")[..6]}";
        var work = Path.Combine(cluster.Root, ns);
        await KubectlAsync($"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n", "apply", "-f", "-");

        // The uninterrupted reference and the run to interrupt, side by side, both with MASTER_PORT 29500.
        await ApplyRunAsync(ns, "ref", "ref", work, stepDelayMs: 0);
        await ApplyRunAsync(ns, "run", "run", work, stepDelayMs: 150);
        var reference = await WaitEndedAsync(ns, "ref");
        Assert.All(reference, p => Assert.Equal((0, "completed", (long)FinalStep), Outcome(p)));
        Assert.Contains("rendezvous at ref-0.ref:29500", await File.ReadAllTextAsync(cluster.LogFile(reference[1])), StringComparison.Ordinal);

        // A SIGTERM to rank 1 alone (its main process, as a container runtime sends it): the flag all-reduced with
        // the next step stops both ranks after that same step; rank 0 writes the checkpoint, both exit 75.
        await Eventually.TrueAsync(() => StepDirectories(work, "run", 0).Any(), TimeSpan.FromSeconds(120), "the first checkpoint of the run");
        var rank1 = await cluster.Client.CoreV1.ReadNamespacedPodAsync("run-1", ns);
        var pid = (await File.ReadAllTextAsync(Path.Combine(PodDirectory(rank1), "containers", "main", "pid"))).Split(' ')[0];
        using (var kill = System.Diagnostics.Process.Start("kill", new[] { "-TERM", pid }))
        {
            await kill.WaitForExitAsync();
        }

        var stopped = await WaitEndedAsync(ns, "run");
        var (code0, status0, step0) = Outcome(stopped[0]);
        Assert.Equal((75, "preempted"), (code0, status0));
        Assert.Equal((75, "preempted", step0), Outcome(stopped[1]));
        Assert.InRange(step0, 1, FinalStep - 1);
        Assert.Contains($"step-{step0:D12}", StepDirectories(work, "run", 0));
        Assert.Empty(StepDirectories(work, "run", 1));
        output.WriteLine($"both ranks stopped after step {step0}");

        // A new pair on the same checkpoint directories: rank 0 resumes (rank 1 gets the point by broadcast) and the run
        // ends where the reference did, with the same bytes.
        await ApplyRunAsync(ns, "run", "res", work, stepDelayMs: 0);
        var resumed = await WaitEndedAsync(ns, "res");
        Assert.All(resumed, p => Assert.Equal((0, "completed", (long)FinalStep), Outcome(p)));
        Assert.Contains($"resumed from /", await File.ReadAllTextAsync(cluster.LogFile(resumed[0])), StringComparison.Ordinal);
        Assert.Contains($"at step {step0} ", await File.ReadAllTextAsync(cluster.LogFile(resumed[1])), StringComparison.Ordinal);
        var final = $"step-{FinalStep:D12}";
        foreach (var file in new[] { "weights.bin", "state.json" })
        {
            var expected = await File.ReadAllBytesAsync(Path.Combine(Checkpoints(work, "ref", 0), final, file));
            var actual = await File.ReadAllBytesAsync(Path.Combine(Checkpoints(work, "run", 0), final, file));
            Assert.True(expected.Length > 0 && expected.AsSpan().SequenceEqual(actual), $"{final}/{file} differs from the uninterrupted run's");
        }

        await KubectlAsync(null, "delete", "namespace", ns, "--wait=false");
    }

    /// <summary>A headless Service <paramref name="service"/> and pods <c>prefix-0</c>, <c>prefix-1</c> behind it; rank r
    /// keeps its checkpoints in the host directory <c>work/service-r</c>.</summary>
    private async Task ApplyRunAsync(string ns, string service, string prefix, string work, int stepDelayMs)
    {
        var yaml = $$"""
            apiVersion: v1
            kind: Service
            metadata: {name: {{service}}, namespace: {{ns}} }
            spec: {clusterIP: None, publishNotReadyAddresses: true, selector: {run: {{prefix}} }, ports: [{name: rendezvous, port: 29500}]}
            """;
        for (var rank = 0; rank < 2; rank++)
        {
            yaml += $$"""

                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: {{prefix}}-{{rank}}, namespace: {{ns}}, labels: {run: {{prefix}} } }
                spec:
                  hostname: {{prefix}}-{{rank}}
                  subdomain: {{service}}
                  restartPolicy: Never
                  terminationGracePeriodSeconds: 30
                  containers:
                    - name: main
                      image: ghcr.io/k8straining/pytorch-example:0.1.0
                      args: [--samples, "512", --epochs, "2", --batch-size, "16", --checkpoint-every-steps, "4"]
                      env:
                        - {name: WORLD_SIZE, value: "2"}
                        - {name: RANK, value: "{{rank}}"}
                        - {name: MASTER_ADDR, value: {{prefix}}-0.{{service}}}
                        - {name: MASTER_PORT, value: "29500"}
                        - {name: TRAINER_CHECKPOINT_DIR, value: /checkpoints}
                        - {name: TRAINER_TERMINATION_LOG, value: /dev/termination-log}
                        - {name: TRAINER_DIST_TIMEOUT_SECONDS, value: "120"}
                        - {name: EXAMPLE_STEP_DELAY_MS, value: "{{stepDelayMs}}"}
                      volumeMounts: [{name: checkpoints, mountPath: /checkpoints}]
                  volumes: [{name: checkpoints, hostPath: {path: {{Checkpoints(work, service, rank)}}, type: DirectoryOrCreate} }]
                """;
        }

        await KubectlAsync(yaml, "apply", "-f", "-");
    }

    private async Task<V1Pod[]> WaitEndedAsync(string ns, string prefix)
    {
        var pods = new V1Pod[2];
        for (var rank = 0; rank < 2; rank++)
        {
            pods[rank] = await cluster.WaitForAsync(
                new V1Pod { Metadata = new V1ObjectMeta { Name = $"{prefix}-{rank}", NamespaceProperty = ns } },
                p => p.Status?.Phase is "Succeeded" or "Failed",
                $"{prefix}-{rank} ended",
                TimeSpan.FromSeconds(180));
        }

        output.WriteLine($"{prefix}: {string.Join(" | ", pods.Select(p => p.Status.ContainerStatuses[0].State.Terminated.Message))}");
        return pods;
    }

    /// <summary>The container's exit code, and the termination message's status and globalStep.</summary>
    private static (int ExitCode, string? Status, long Step) Outcome(V1Pod pod)
    {
        var terminated = pod.Status.ContainerStatuses[0].State.Terminated;
        using var message = JsonDocument.Parse(terminated.Message);
        return (terminated.ExitCode, message.RootElement.GetProperty("status").GetString(), message.RootElement.GetProperty("globalStep").GetInt64());
    }

    private static string Checkpoints(string work, string service, int rank) =>
        Path.Combine(work, $"{service}-{rank.ToString(CultureInfo.InvariantCulture)}");

    private static IReadOnlyList<string> StepDirectories(string work, string service, int rank)
    {
        var directory = Checkpoints(work, service, rank);
        return Directory.Exists(directory)
            ? Directory.GetDirectories(directory, "step-*").Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList()
            : [];
    }

    private string PodDirectory(V1Pod pod) =>
        Path.Combine(cluster.Root, "nodes", "local-node", "pods", $"{pod.Metadata.NamespaceProperty}_{pod.Metadata.Name}_{pod.Metadata.Uid}");

    private async Task<string> KubectlAsync(string? stdin, params string[] args) =>
        (await Kubectl.RunAsync(cluster.Plane.KubeconfigPath, Path.Combine(cluster.Root, "kubectl-cache"), stdin, args)).Succeeded().Stdout;
}
