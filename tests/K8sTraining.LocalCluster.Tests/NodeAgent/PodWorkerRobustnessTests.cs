using System.Text.Json.Nodes;
using K8sTraining.LocalCluster.Resources;
using k8s;
using k8s.Models;

namespace K8sTraining.LocalCluster.Tests.NodeAgent;

/// <summary>The node agent's pod worker against a pod spec it cannot run: it reports it and can still be deleted.</summary>
[Trait("Category", "Integration")]
public sealed class PodWorkerRobustnessTests(NodeAgentFixture cluster) : IClassFixture<NodeAgentFixture>
{
    [Fact]
    public async Task Pod_Should_WaitWithCreateContainerConfigErrorAndStillDelete_When_AnEnvItemHasNoName()
    {
        // The API server refuses env [{}] with 422 now, so the pod goes straight into storage, as a laxer server let it in.
        var built = PodBuilder.Shell("exec sleep 300", "noname").Build();
        var pod = JsonNode.Parse(KubernetesJson.Serialize(built))!.AsObject();
        pod["metadata"]!["uid"] = Guid.NewGuid().ToString();
        pod["metadata"]!["creationTimestamp"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
        pod["spec"]!["nodeName"] = "local-node";
        pod["spec"]!["terminationGracePeriodSeconds"] = 2;
        pod["spec"]!["containers"]![0]!["env"] = new JsonArray(new JsonObject());
        pod["status"] = new JsonObject { ["phase"] = "Pending" };
        cluster.Plane.Operations.Store.Put(BuiltinResources.Pods.StorageKey, pod);

        var waiting = await cluster.WaitForAsync(built,
            p => p.Status?.ContainerStatuses?.FirstOrDefault()?.State?.Waiting?.Reason == "CreateContainerConfigError",
            "the container to wait with CreateContainerConfigError");
        await cluster.Client.CoreV1.DeleteNamespacedPodAsync(built.Metadata.Name, "default");

        Assert.Equal("Pending", waiting.Status.Phase);
        await Eventually.ValueAsync<string>(
            async () => (await cluster.Client.CoreV1.ListNamespacedPodAsync("default", fieldSelector: $"metadata.name={built.Metadata.Name}")).Items.Count == 0 ? "gone" : null,
            TimeSpan.FromSeconds(30),
            "the deleted pod to be gone without a force delete");
    }
}
