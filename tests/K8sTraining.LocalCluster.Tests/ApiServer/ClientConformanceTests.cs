using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace K8sTraining.LocalCluster.Tests.ApiServer;

/// <summary>The real KubernetesClient 21 against the local API server: the calls the operator and node agent make.</summary>
[Trait("Category", "Integration")]
public sealed class ClientConformanceTests(ControlPlaneFixture fx) : IClassFixture<ControlPlaneFixture>
{
    private static V1ConfigMap Cm(string name, IDictionary<string, string>? labels = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, Labels = labels },
        Data = new Dictionary<string, string> { ["k"] = "v" },
    };

    [Fact]
    public async Task Create_Should_GenerateNamesAndRefuseDuplicates_When_NamesCollide()
    {
        var ns = await fx.NewNamespaceAsync();

        var generated = await fx.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { GenerateName = "gen-" } }, ns);
        await fx.Client.CoreV1.CreateNamespacedConfigMapAsync(Cm("dup"), ns);
        var duplicate = await Assert.ThrowsAsync<HttpOperationException>(() => fx.Client.CoreV1.CreateNamespacedConfigMapAsync(Cm("dup"), ns));
        var missingNs = await Assert.ThrowsAsync<HttpOperationException>(() => fx.Client.CoreV1.CreateNamespacedConfigMapAsync(Cm("x"), "no-such-ns"));

        Assert.Matches("^gen-[a-z0-9]{5}$", generated.Metadata.Name);
        Assert.NotNull(generated.Metadata.Uid);
        Assert.NotNull(generated.Metadata.CreationTimestamp);
        Assert.Equal(HttpStatusCode.Conflict, duplicate.Response.StatusCode);
        var status = KubernetesJson.Deserialize<V1Status>(duplicate.Response.Content);
        Assert.Equal("AlreadyExists", status.Reason);
        Assert.Equal("configmaps \"dup\" already exists", status.Message);
        Assert.Equal("configmaps", status.Details.Kind);
        Assert.Equal(HttpStatusCode.NotFound, missingNs.Response.StatusCode);
    }

    [Fact]
    public async Task Replace_Should_Conflict_When_TheResourceVersionIsStale()
    {
        var ns = await fx.NewNamespaceAsync();
        var first = await fx.Client.CoreV1.CreateNamespacedConfigMapAsync(Cm("c"), ns);
        first.Data["k"] = "second";
        var second = await fx.Client.CoreV1.ReplaceNamespacedConfigMapAsync(first, "c", ns);

        first.Data["k"] = "stale";
        var error = await Assert.ThrowsAsync<HttpOperationException>(() => fx.Client.CoreV1.ReplaceNamespacedConfigMapAsync(first, "c", ns));

        Assert.True(long.Parse(second.Metadata.ResourceVersion) > long.Parse(first.Metadata.ResourceVersion));
        Assert.Equal(HttpStatusCode.Conflict, error.Response.StatusCode);
        Assert.Equal("Conflict", KubernetesJson.Deserialize<V1Status>(error.Response.Content).Reason);
        Assert.Equal("second", (await fx.Client.CoreV1.ReadNamespacedConfigMapAsync("c", ns)).Data["k"]);
    }

    [Fact]
    public async Task Update_Should_NotBumpTheResourceVersion_When_NothingChanged()
    {
        var ns = await fx.NewNamespaceAsync();
        var created = await fx.Client.CoreV1.CreateNamespacedConfigMapAsync(Cm("same"), ns);

        var replaced = await fx.Client.CoreV1.ReplaceNamespacedConfigMapAsync(created, "same", ns);

        Assert.Equal(created.Metadata.ResourceVersion, replaced.Metadata.ResourceVersion);
    }

    [Fact]
    public async Task StatusSubresource_Should_SplitSpecAndStatusWrites_When_TheCrdDeclaresIt()
    {
        var ns = await fx.NewNamespaceAsync();
        var widget = new JsonObject
        {
            ["apiVersion"] = "test.k8straining.io/v1",
            ["kind"] = "Widget",
            ["metadata"] = new JsonObject { ["name"] = "s" },
            ["spec"] = new JsonObject { ["size"] = 1 },
            ["status"] = new JsonObject { ["observed"] = 99 },
        };
        var created = await CreateWidgetAsync(ns, widget);

        var afterStatus = await PatchWidgetAsync(ns, "s", """{"status":{"observed":1},"spec":{"size":5}}""", status: true);
        var afterMain = await PatchWidgetAsync(ns, "s", """{"status":{"observed":7},"spec":{"size":2}}""", status: false);
        var afterLabel = await PatchWidgetAsync(ns, "s", """{"metadata":{"labels":{"x":"y"}}}""", status: false);

        Assert.Null(created["status"]);
        Assert.Equal(1L, (long)created["metadata"]!["generation"]!);
        Assert.Equal(1, (int)afterStatus["status"]!["observed"]!);
        Assert.Equal(1, (int)afterStatus["spec"]!["size"]!);
        Assert.Equal(1L, (long)afterStatus["metadata"]!["generation"]!);
        Assert.Equal(1, (int)afterMain["status"]!["observed"]!);
        Assert.Equal(2, (int)afterMain["spec"]!["size"]!);
        Assert.Equal(2L, (long)afterMain["metadata"]!["generation"]!);
        Assert.Equal(2L, (long)afterLabel["metadata"]!["generation"]!);
    }

    [Fact]
    public async Task Watch_Should_ReplayChangesAfterAResourceVersion_When_ResumedFromIt()
    {
        var ns = await fx.NewNamespaceAsync();
        var first = await fx.Client.CoreV1.CreateNamespacedConfigMapAsync(Cm("w1"), ns);
        await fx.Client.CoreV1.CreateNamespacedConfigMapAsync(Cm("w2"), ns);
        await fx.Client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"data":{"k":"changed"}}""", V1Patch.PatchType.MergePatch), "w1", ns);
        await fx.Client.CoreV1.DeleteNamespacedConfigMapAsync("w2", ns);

        var events = new List<(WatchEventType Type, string Name, string Rv)>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await foreach (var (type, cm) in fx.Client.CoreV1.WatchListNamespacedConfigMapAsync(ns, resourceVersion: first.Metadata.ResourceVersion, timeoutSeconds: 5, cancellationToken: cts.Token))
        {
            events.Add((type, cm.Metadata.Name, cm.Metadata.ResourceVersion));
            if (events.Count == 3)
            {
                break;
            }
        }

        Assert.Equal([(WatchEventType.Added, "w2"), (WatchEventType.Modified, "w1"), (WatchEventType.Deleted, "w2")], events.Select(e => (e.Type, e.Name)).ToArray());
        Assert.True(events.Select(e => long.Parse(e.Rv)).SequenceEqual(events.Select(e => long.Parse(e.Rv)).Order()));
    }

    [Fact]
    public async Task Watch_Should_SendBookmarks_When_TheClientAllowsThem()
    {
        var ns = await fx.NewNamespaceAsync();
        var list = await fx.Client.CoreV1.ListNamespacedConfigMapAsync(ns);
        var bookmarks = 0;
        string? bookmarkRv = null;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await foreach (var (type, cm) in fx.Client.CoreV1.WatchListNamespacedConfigMapAsync(ns, allowWatchBookmarks: true, resourceVersion: list.Metadata.ResourceVersion, cancellationToken: cts.Token))
        {
            if (type == WatchEventType.Bookmark)
            {
                bookmarks++;
                bookmarkRv = cm.Metadata.ResourceVersion;
                break;
            }
        }

        Assert.Equal(1, bookmarks);
        Assert.True(long.Parse(bookmarkRv!) >= long.Parse(list.Metadata.ResourceVersion));
    }

    [Fact]
    public async Task Watch_Should_EndAfterTimeoutSeconds_When_NothingHappens()
    {
        var ns = await fx.NewNamespaceAsync();
        var started = DateTime.UtcNow;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var count = 0;
        try
        {
            await foreach (var _ in fx.Client.CoreV1.WatchListNamespacedConfigMapAsync(ns, timeoutSeconds: 1, cancellationToken: cts.Token))
            {
                count++;
            }
        }
        catch (HttpRequestException e) when (e.InnerException is EndOfStreamException)
        {
            // KubernetesClient reads the first line eagerly: a watch that ends empty surfaces this way.
        }

        Assert.Equal(0, count);
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Watch_Should_FilterBySelectors_When_ObjectsMoveInAndOutOfTheSelection()
    {
        var ns = await fx.NewNamespaceAsync();
        var start = await fx.Client.CoreV1.ListNamespacedConfigMapAsync(ns);
        await fx.Client.CoreV1.CreateNamespacedConfigMapAsync(Cm("in", new Dictionary<string, string> { ["app"] = "a" }), ns);
        await fx.Client.CoreV1.CreateNamespacedConfigMapAsync(Cm("out", new Dictionary<string, string> { ["app"] = "b" }), ns);
        await fx.Client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"metadata":{"labels":{"app":"b"}}}""", V1Patch.PatchType.MergePatch), "in", ns);

        var events = new List<(WatchEventType, string)>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await foreach (var (type, cm) in fx.Client.CoreV1.WatchListNamespacedConfigMapAsync(ns, labelSelector: "app=a", resourceVersion: start.Metadata.ResourceVersion, timeoutSeconds: 2, cancellationToken: cts.Token))
        {
            events.Add((type, cm.Metadata.Name));
        }

        Assert.Equal([(WatchEventType.Added, "in"), (WatchEventType.Deleted, "in")], events);
    }

    [Fact]
    public async Task List_Should_FilterWithEverySelectorOperator_When_SelectorsAreGiven()
    {
        var ns = await fx.NewNamespaceAsync();
        await fx.Client.CoreV1.CreateNamespacedConfigMapAsync(Cm("a", new Dictionary<string, string> { ["app"] = "web", ["tier"] = "front" }), ns);
        await fx.Client.CoreV1.CreateNamespacedConfigMapAsync(Cm("b", new Dictionary<string, string> { ["app"] = "web" }), ns);
        await fx.Client.CoreV1.CreateNamespacedConfigMapAsync(Cm("c", new Dictionary<string, string> { ["app"] = "db" }), ns);

        async Task<string> Names(string? labels = null, string? fields = null) =>
            string.Join(",", (await fx.Client.CoreV1.ListNamespacedConfigMapAsync(ns, labelSelector: labels, fieldSelector: fields)).Items.Select(i => i.Metadata.Name).Where(n => n != "kube-root-ca.crt"));

        Assert.Equal("a,b", await Names("app=web"));
        Assert.Equal("a,b", await Names("app==web"));
        Assert.Equal("b,c", await Names("tier!=front"));
        Assert.Equal("c", await Names("app in (db, cache),tier notin (back)"));
        Assert.Equal("a", await Names("tier"));
        Assert.Equal("b,c", await Names("!tier"));
        Assert.Equal("c", await Names(fields: "metadata.name=c"));
        Assert.Equal("a,b", await Names(fields: $"metadata.namespace={ns},metadata.name!=c"));
        var error = await Assert.ThrowsAsync<HttpOperationException>(() => Names("app in (a"));
        Assert.Equal(HttpStatusCode.BadRequest, error.Response.StatusCode);
    }

    [Fact]
    public async Task List_Should_PageWithLimitAndContinue_When_AskedForChunks()
    {
        var ns = await fx.NewNamespaceAsync();
        for (var i = 0; i < 5; i++)
        {
            await fx.Client.CoreV1.CreateNamespacedConfigMapAsync(Cm($"page-{i}"), ns);
        }

        var page1 = await fx.Client.CoreV1.ListNamespacedConfigMapAsync(ns, limit: 2);
        var page2 = await fx.Client.CoreV1.ListNamespacedConfigMapAsync(ns, limit: 2, continueParameter: page1.Metadata.ContinueProperty);
        var page3 = await fx.Client.CoreV1.ListNamespacedConfigMapAsync(ns, limit: 2, continueParameter: page2.Metadata.ContinueProperty);

        Assert.Equal(["page-0", "page-1", "page-2", "page-3", "page-4"], page1.Items.Concat(page2.Items).Concat(page3.Items).Select(i => i.Metadata.Name));
        Assert.Null(page3.Metadata.ContinueProperty);
        Assert.Equal(3, page1.Metadata.RemainingItemCount);
    }

    [Fact]
    public async Task Delete_Should_CascadeInTheBackground_When_TheOwnerIsDeleted()
    {
        var ns = await fx.NewNamespaceAsync();
        var owner = await fx.Client.CoreV1.CreateNamespacedConfigMapAsync(Cm("owner"), ns);
        await CreateDependentAsync(ns, "dep-1", owner, block: false);
        await CreateDependentAsync(ns, "dep-2", owner, block: false);

        await fx.Client.CoreV1.DeleteNamespacedConfigMapAsync("owner", ns, propagationPolicy: "Background");

        await Eventually.TrueAsync(async () => (await fx.Client.CoreV1.ListNamespacedConfigMapAsync(ns)).Items.Count == 0, "dependents collected after the owner is gone");
    }

    [Fact]
    public async Task Delete_Should_WaitForBlockingDependents_When_PropagationIsForeground()
    {
        var ns = await fx.NewNamespaceAsync();
        var owner = await fx.Client.CoreV1.CreateNamespacedConfigMapAsync(Cm("owner"), ns);
        var dep = await CreateDependentAsync(ns, "dep", owner, block: true);
        dep.Metadata.Finalizers = ["test.k8straining.io/hold"];
        await fx.Client.CoreV1.ReplaceNamespacedConfigMapAsync(dep, "dep", ns);

        await fx.Client.CoreV1.DeleteNamespacedConfigMapAsync("owner", ns, propagationPolicy: "Foreground");

        await Eventually.TrueAsync(async () => (await fx.Client.CoreV1.ReadNamespacedConfigMapAsync("dep", ns)).Metadata.DeletionTimestamp is not null, "the dependent is being deleted");
        var waiting = await fx.Client.CoreV1.ReadNamespacedConfigMapAsync("owner", ns);
        Assert.Contains("foregroundDeletion", waiting.Metadata.Finalizers);
        Assert.NotNull(waiting.Metadata.DeletionTimestamp);
        await fx.Client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"metadata":{"finalizers":null}}""", V1Patch.PatchType.MergePatch), "dep", ns);
        await Eventually.TrueAsync(async () => (await fx.Client.CoreV1.ListNamespacedConfigMapAsync(ns)).Items.Count == 0, "owner removed once its blocking dependent is gone");
    }

    [Fact]
    public async Task Delete_Should_LeaveDependentsWithoutOwner_When_PropagationIsOrphan()
    {
        var ns = await fx.NewNamespaceAsync();
        var owner = await fx.Client.CoreV1.CreateNamespacedConfigMapAsync(Cm("owner"), ns);
        await CreateDependentAsync(ns, "dep", owner, block: false);

        await fx.Client.CoreV1.DeleteNamespacedConfigMapAsync("owner", ns, propagationPolicy: "Orphan");

        await Eventually.TrueAsync(async () => (await fx.Client.CoreV1.ListNamespacedConfigMapAsync(ns)).Items.Select(i => i.Metadata.Name).SequenceEqual(["dep"]), "only the orphan is left");
        var orphan = await fx.Client.CoreV1.ReadNamespacedConfigMapAsync("dep", ns);
        Assert.Null(orphan.Metadata.OwnerReferences);
    }

    [Fact]
    public async Task Evict_Should_MarkDisruptionTargetAndDeleteGracefully_When_ThePodIsRunningOnANode()
    {
        var ns = await fx.NewNamespaceAsync();
        await fx.Client.CoreV1.CreateNamespacedPodAsync(new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = "victim" },
            Spec = new V1PodSpec { TerminationGracePeriodSeconds = 45, Containers = [new V1Container { Name = "c", Image = "busybox" }] },
        }, ns);

        await fx.Client.CoreV1.CreateNamespacedPodEvictionAsync(new V1Eviction { Metadata = new V1ObjectMeta { Name = "victim", NamespaceProperty = ns } }, "victim", ns);
        var missing = await Assert.ThrowsAsync<HttpOperationException>(() =>
            fx.Client.CoreV1.CreateNamespacedPodEvictionAsync(new V1Eviction { Metadata = new V1ObjectMeta { Name = "nobody", NamespaceProperty = ns } }, "nobody", ns));

        var pod = await fx.Client.CoreV1.ReadNamespacedPodAsync("victim", ns);
        var condition = Assert.Single(pod.Status.Conditions, c => c.Type == "DisruptionTarget");
        Assert.Equal("True", condition.Status);
        Assert.Equal("EvictionByEvictionAPI", condition.Reason);
        Assert.NotNull(pod.Metadata.DeletionTimestamp);
        Assert.Equal(45, pod.Metadata.DeletionGracePeriodSeconds);
        Assert.Equal(HttpStatusCode.NotFound, missing.Response.StatusCode);
        // The kubelet's final delete (grace 0) removes it, as on a real node.
        await fx.Client.CoreV1.DeleteNamespacedPodAsync("victim", ns, gracePeriodSeconds: 0);
        await Assert.ThrowsAsync<HttpOperationException>(() => fx.Client.CoreV1.ReadNamespacedPodAsync("victim", ns));
    }

    [Fact]
    public async Task Create_Should_DefaultPodsLikeTheRealServer_When_FieldsAreOmitted()
    {
        var ns = await fx.NewNamespaceAsync();

        var pod = await fx.Client.CoreV1.CreateNamespacedPodAsync(new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = "defaults" },
            Spec = new V1PodSpec { Containers = [new V1Container { Name = "c", Image = "ghcr.io/k8straining/trainer:1" }] },
            Status = new V1PodStatus { Phase = "Running" },
        }, ns);
        var invalid = await Assert.ThrowsAsync<HttpOperationException>(() =>
            fx.Client.CoreV1.CreateNamespacedPodAsync(new V1Pod { Metadata = new V1ObjectMeta { Name = "bad" }, Spec = new V1PodSpec { Containers = [] } }, ns));
        var changeCommand = await Assert.ThrowsAsync<HttpOperationException>(() =>
            fx.Client.CoreV1.PatchNamespacedPodAsync(new V1Patch("""{"spec":{"containers":[{"name":"c","args":["x"]}]}}""", V1Patch.PatchType.StrategicMergePatch), "defaults", ns));

        Assert.Equal("Pending", pod.Status.Phase);
        Assert.Equal("local-node", pod.Spec.NodeName);
        Assert.Equal(30, pod.Spec.TerminationGracePeriodSeconds);
        Assert.Equal("Always", pod.Spec.RestartPolicy);
        Assert.Equal("default", pod.Spec.ServiceAccountName);
        Assert.Equal("/dev/termination-log", pod.Spec.Containers[0].TerminationMessagePath);
        Assert.Equal("File", pod.Spec.Containers[0].TerminationMessagePolicy);
        Assert.Equal("IfNotPresent", pod.Spec.Containers[0].ImagePullPolicy);
        Assert.Equal((HttpStatusCode)422, invalid.Response.StatusCode);
        var invalidStatus = KubernetesJson.Deserialize<V1Status>(invalid.Response.Content);
        Assert.Equal("Pod \"bad\" is invalid: spec.containers: Required value", invalidStatus.Message);
        Assert.Equal("Invalid", invalidStatus.Reason);
        Assert.Equal("spec.containers", invalidStatus.Details.Causes.Single().Field);
        Assert.Equal((HttpStatusCode)422, changeCommand.Response.StatusCode);
        Assert.Contains("pod updates may not change fields other than", changeCommand.Response.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Delete_Should_RemovePodsAtOnce_When_NotScheduledOrGraceIsZero()
    {
        var ns = await fx.NewNamespaceAsync();
        var pod = new V1Pod { Metadata = new V1ObjectMeta { Name = "quick" }, Spec = new V1PodSpec { Containers = [new V1Container { Name = "c", Image = "busybox" }] } };
        await fx.Client.CoreV1.CreateNamespacedPodAsync(pod, ns);

        var deleted = await fx.Client.CoreV1.DeleteNamespacedPodAsync("quick", ns, gracePeriodSeconds: 0);

        Assert.Equal("quick", deleted.Metadata.Name);
        await Assert.ThrowsAsync<HttpOperationException>(() => fx.Client.CoreV1.ReadNamespacedPodAsync("quick", ns));
    }

    [Fact]
    public async Task Discovery_Should_ListNewResources_When_ACrdIsCreated()
    {
        var before = await fx.Client.ApiextensionsV1.ListCustomResourceDefinitionAsync();
        var crd = KubernetesYaml.Deserialize<V1CustomResourceDefinition>(TestManifests.WidgetCrd
            .Replace("widgets", "gadgets", StringComparison.Ordinal).Replace("widget", "gadget", StringComparison.Ordinal)
            .Replace("Widget", "Gadget", StringComparison.Ordinal).Replace("[wd]", "[gd]", StringComparison.Ordinal));

        await fx.Client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(crd);
        var resources = await fx.Client.Core.GetAPIVersionsAsync();
        var groups = await fx.Client.Apis.GetAPIVersionsAsync();
        await fx.Client.ApiextensionsV1.DeleteCustomResourceDefinitionAsync("gadgets.test.k8straining.io");
        var listAfterDelete = await Assert.ThrowsAsync<HttpOperationException>(() =>
            fx.Client.CustomObjects.ListNamespacedCustomObjectAsync(TestManifests.Group, "v1", "default", "gadgets"));

        Assert.Contains("v1", resources.Versions);
        Assert.Contains(groups.Groups, g => g.Name == "test.k8straining.io");
        Assert.Contains(groups.Groups, g => g.Name == "coordination.k8s.io");
        Assert.Contains(groups.Groups, g => g.Name == "policy");
        Assert.DoesNotContain(before.Items, c => c.Metadata.Name == "gadgets.test.k8straining.io");
        Assert.Equal(HttpStatusCode.NotFound, listAfterDelete.Response.StatusCode);
    }

    [Fact]
    public async Task Leases_Should_SupportLeaderElectionWrites_When_UsedThroughTheClient()
    {
        var ns = await fx.NewNamespaceAsync();
        var lease = await fx.Client.CoordinationV1.CreateNamespacedLeaseAsync(new V1Lease
        {
            Metadata = new V1ObjectMeta { Name = "leader" },
            Spec = new V1LeaseSpec { HolderIdentity = "a", LeaseDurationSeconds = 15 },
        }, ns);
        lease.Spec.HolderIdentity = "b";

        var renewed = await fx.Client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, "leader", ns);
        lease.Spec.HolderIdentity = "c";
        var stale = await Assert.ThrowsAsync<HttpOperationException>(() => fx.Client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, "leader", ns));

        Assert.Equal("b", renewed.Spec.HolderIdentity);
        Assert.Equal(HttpStatusCode.Conflict, stale.Response.StatusCode);
    }

    [Fact]
    public async Task Audit_Should_RecordVerbGroupResourceSubresourceAndNamespace_When_RequestsArrive()
    {
        var ns = await fx.NewNamespaceAsync();
        await CreateWidgetAsync(ns, new JsonObject
        {
            ["apiVersion"] = "test.k8straining.io/v1", ["kind"] = "Widget",
            ["metadata"] = new JsonObject { ["name"] = "audited" }, ["spec"] = new JsonObject { ["size"] = 1 },
        });
        await PatchWidgetAsync(ns, "audited", """{"status":{"observed":1}}""", status: true);

        var entries = fx.Plane.AuditLog.Entries.Where(e => e.Namespace == ns).ToList();

        Assert.Contains(entries, e => e is { Verb: "create", Group: "test.k8straining.io", Resource: "widgets", Subresource: "", Code: 201 });
        Assert.Contains(entries, e => e is { Verb: "patch", Group: "test.k8straining.io", Resource: "widgets", Subresource: "status", Name: "audited" });
        Assert.Contains(entries, e => e.Permission == "patch widgets.test.k8straining.io/status");
    }

    private async Task<V1ConfigMap> CreateDependentAsync(string ns, string name, V1ConfigMap owner, bool block)
    {
        var dep = Cm(name);
        dep.Metadata.OwnerReferences =
        [
            new V1OwnerReference { ApiVersion = "v1", Kind = "ConfigMap", Name = owner.Metadata.Name, Uid = owner.Metadata.Uid, BlockOwnerDeletion = block },
        ];
        return await fx.Client.CoreV1.CreateNamespacedConfigMapAsync(dep, ns);
    }

    private async Task<JsonObject> CreateWidgetAsync(string ns, JsonObject widget)
    {
        var created = await fx.Client.CustomObjects.CreateNamespacedCustomObjectAsync(widget, TestManifests.Group, "v1", ns, TestManifests.Plural);
        return JsonNode.Parse(KubernetesJson.Serialize(created))!.AsObject();
    }

    private async Task<JsonObject> PatchWidgetAsync(string ns, string name, string patch, bool status)
    {
        var body = new V1Patch(patch, V1Patch.PatchType.MergePatch);
        var result = status
            ? await fx.Client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(body, TestManifests.Group, "v1", ns, TestManifests.Plural, name)
            : await fx.Client.CustomObjects.PatchNamespacedCustomObjectAsync(body, TestManifests.Group, "v1", ns, TestManifests.Plural, name);
        return JsonNode.Parse(KubernetesJson.Serialize(result))!.AsObject();
    }
}
