using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using K8sTraining.LocalCluster.Admission;
using K8sTraining.LocalCluster.Patching;
using K8sTraining.LocalCluster.Resources;
using K8sTraining.LocalCluster.Schema;
using K8sTraining.LocalCluster.Storage;

namespace K8sTraining.LocalCluster.Api;

/// <summary>
/// The registry strategies of the API server: create, update, patch, delete and evict with the metadata, status
/// subresource, generation, finalizer and graceful-deletion rules of a real server. Used by the HTTP handlers and by
/// the in-process controllers (garbage collector, namespace cleanup).
/// </summary>
public sealed partial class ResourceOperations(ObjectStore store, ResourceRegistry registry, BuiltinAdmission admission, TimeProvider time)
{
    private const string NameChars = "bcdfghjklmnpqrstvwxz2456789";

    public ObjectStore Store => store;

    public ResourceRegistry Registry => registry;

    public string Now() => Timestamp(time.GetUtcNow());

    public static string Timestamp(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    public JsonObject Get(ResourceType type, string? ns, string name) =>
        WithVersion(type, store.Get(type.StorageKey, ns, name) ?? throw NotFound(type, name));

    public JsonObject Create(ResourceType type, string? ns, JsonObject body, bool strict = false, bool dryRun = false) => store.Atomically(() =>
    {
        var obj = (JsonObject)body.DeepClone();
        CheckTypeMeta(type, obj);
        var meta = Metadata(obj);
        var name = (string?)meta["name"];
        var generateName = (string?)meta["generateName"];
        if (string.IsNullOrEmpty(name) && string.IsNullOrEmpty(generateName))
        {
            throw ApiException.Invalid(type.QualifiedKind, "", type.Group, type.Kind,
                [FieldError.Required("metadata.name", "name or generateName is required")]);
        }

        ns = CheckNamespace(type, ns, meta);
        if (string.IsNullOrEmpty(name))
        {
            do
            {
                // As the real SimpleNameGenerator: the prefix is cut so that the generated name stays a valid label.
                var prefix = generateName!.Length > 58 ? generateName[..58] : generateName;
                name = prefix + new string(Enumerable.Range(0, 5).Select(_ => NameChars[Random.Shared.Next(NameChars.Length)]).ToArray());
            }
            while (store.Get(type.StorageKey, ns, name) is not null);
            meta["name"] = name;
        }

        ValidateMeta(type, meta, checkName: true);
        meta["uid"] = Guid.NewGuid().ToString();
        meta["creationTimestamp"] = Now();
        meta.Remove("resourceVersion");
        meta.Remove("deletionTimestamp");
        meta.Remove("deletionGracePeriodSeconds");
        meta.Remove("selfLink");
        meta.Remove("managedFields");
        if (type.TracksGeneration)
        {
            meta["generation"] = 1L;
        }
        else
        {
            meta.Remove("generation");
        }

        if (type.HasStatus && type.IsCustom)
        {
            obj.Remove("status");
        }

        if (type.Kind == "CustomResourceDefinition" && type.Group == "apiextensions.k8s.io")
        {
            DefaultCrd(obj);
            CrdRegistrar.Validate(obj);
            obj["status"] = CrdRegistrar.Status(obj, time.GetUtcNow());
        }

        if (!type.IsCustom && type.Group.Length == 0)
        {
            admission.OnCreate(type.Kind, obj);
            if (type.Kind == "Pod" && admission.EnforcePodAdmission)
            {
                PodAdmission.Admit(ns!, obj, (t, n, objName) => store.Get(t.StorageKey, n, objName));
            }
        }

        AdmitCustom(type, obj, strict);
        if (store.Get(type.StorageKey, ns, name) is not null)
        {
            throw ApiException.AlreadyExists(type.GroupResource, name, type.Group, type.Plural);
        }

        if (dryRun)
        {
            return WithVersion(type, obj);
        }

        var stored = store.Put(type.StorageKey, obj);
        AfterWrite(type, stored);
        return WithVersion(type, stored);
    });

    public JsonObject Update(ResourceType type, string? ns, string name, JsonObject body, bool statusOnly, bool strict = false, bool dryRun = false) =>
        store.Atomically(() =>
        {
            var current = store.Get(type.StorageKey, ns, name) ?? throw NotFound(type, name);
            if (type.IsCustom && string.IsNullOrEmpty((string?)body["metadata"]?["resourceVersion"]))
            {
                // Custom resources do not allow unconditional updates (customResourceStrategy.AllowUnconditionalUpdate).
                throw ApiException.Invalid(type.QualifiedKind, name, type.Group, type.Kind,
                    [FieldError.InvalidText("metadata.resourceVersion", "0x0", "must be specified for an update")]);
            }

            return UpdateFrom(type, ns, name, current, body, statusOnly, strict, dryRun);
        });

    public JsonObject Patch(ResourceType type, string? ns, string name, string contentType, string patchText, bool statusOnly, bool strict = false, bool dryRun = false) =>
        store.Atomically(() =>
        {
            var mediaType = contentType.Split(';')[0].Trim().ToLowerInvariant();
            var current = store.Get(type.StorageKey, ns, name);
            if (current is null)
            {
                if (mediaType == "application/apply-patch+yaml" && !statusOnly)
                {
                    var applied = ParseObject(patchText, yamlAllowed: true);
                    Metadata(applied)["name"] ??= name;
                    return Create(type, ns, applied, strict, dryRun);
                }

                throw NotFound(type, name);
            }

            var view = WithVersion(type, current);
            JsonObject patched;
            try
            {
                patched = mediaType switch
                {
                    "application/merge-patch+json" => JsonMergePatch.Apply(view, ParseObject(patchText)) as JsonObject
                        ?? throw ApiException.BadRequest("the patch must be a JSON object"),
                    "application/json-patch+json" => JsonPatch.Apply(view, ParseArray(patchText)) as JsonObject
                        ?? throw ApiException.BadRequest("the patched document is not a JSON object"),
                    "application/strategic-merge-patch+json" when !type.IsCustom => StrategicMergePatch.Apply(view, ParseObject(patchText)),
                    "application/apply-patch+yaml" => type.IsCustom
                        ? (JsonObject)JsonMergePatch.Apply(view, ParseObject(patchText, yamlAllowed: true))!
                        : StrategicMergePatch.Apply(view, ParseObject(patchText, yamlAllowed: true)),
                    _ => throw ApiException.UnsupportedMediaType(mediaType, type.IsCustom
                        ? ["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"]
                        : ["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml", "application/strategic-merge-patch+json"]),
                };
            }
            catch (PatchException e)
            {
                throw new ApiException(422, "Invalid", $"the server rejected our request due to an error in our request: {e.Message}", new JsonObject());
            }

            return UpdateFrom(type, ns, name, current, patched, statusOnly, strict, dryRun);
        });

    /// <summary>Deletes as the generic registry does; returns the object and whether it is gone (false: pending).</summary>
    public (JsonObject Object, bool Deleted) Delete(ResourceType type, string? ns, string name, DeleteOptions options) => store.Atomically(() =>
    {
        var current = store.Get(type.StorageKey, ns, name) ?? throw NotFound(type, name);
        var meta = Metadata(current);
        if (options.PreconditionUid is { } uid && uid != (string?)meta["uid"])
        {
            throw ApiException.Conflict(type.GroupResource, name, type.Group, type.Plural,
                $"Precondition failed: UID in precondition: {uid}, UID in object meta: {(string?)meta["uid"]}");
        }

        if (options.PreconditionResourceVersion is { } rv && rv != (string?)meta["resourceVersion"])
        {
            throw ApiException.Conflict(type.GroupResource, name, type.Group, type.Plural,
                $"Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {(string?)meta["resourceVersion"]}");
        }

        if (type.Kind == "Namespace" && type.Group.Length == 0 && name is "default" or "kube-system" or "kube-public")
        {
            throw ApiException.Forbidden(type.GroupResource, name, type.Group, type.Plural, "this namespace may not be deleted");
        }

        if (options.DryRun)
        {
            return (WithVersion(type, current), false);
        }

        var isPod = type.Kind == "Pod" && type.Group.Length == 0;
        long grace = 0;
        if (isPod)
        {
            grace = options.GracePeriodSeconds ?? (long?)current["spec"]?["terminationGracePeriodSeconds"] ?? 30;
            var phase = (string?)current["status"]?["phase"];
            if (string.IsNullOrEmpty((string?)current["spec"]?["nodeName"]) || phase is "Succeeded" or "Failed")
            {
                grace = 0;
            }

            grace = Math.Max(grace, 0);
        }

        var finalizers = meta["finalizers"] as JsonArray ?? new JsonArray();
        if (meta["deletionTimestamp"] is not null)
        {
            // Already terminating: only a shorter grace period (a pod's final delete from the kubelet) changes anything.
            var currentGrace = (long?)meta["deletionGracePeriodSeconds"] ?? 0;
            if (isPod && grace < currentGrace)
            {
                meta["deletionGracePeriodSeconds"] = grace;
                meta["deletionTimestamp"] = Timestamp(time.GetUtcNow().AddSeconds(grace));
                if (grace == 0 && finalizers.Count == 0)
                {
                    return (WithVersion(type, store.Remove(type.StorageKey, ns, name)!), true);
                }

                return (WithVersion(type, store.Put(type.StorageKey, current)), false);
            }

            return (WithVersion(type, current), false);
        }

        var policy = options.PropagationPolicy ?? (options.OrphanDependents == true ? "Orphan" : "Background");
        if (policy == "Foreground" && !finalizers.Any(f => (string?)f == "foregroundDeletion"))
        {
            finalizers.Add("foregroundDeletion");
        }
        else if (policy == "Orphan" && !finalizers.Any(f => (string?)f == "orphan"))
        {
            finalizers.Add("orphan");
        }

        if (type.Kind == "Namespace" && type.Group.Length == 0)
        {
            meta["deletionTimestamp"] = Now();
            meta["deletionGracePeriodSeconds"] = 0;
            if (finalizers.Count > 0)
            {
                meta["finalizers"] = finalizers;
            }

            current["status"] = new JsonObject { ["phase"] = "Terminating" };
            return (WithVersion(type, store.Put(type.StorageKey, current)), false);
        }

        if (finalizers.Count > 0 || grace > 0)
        {
            meta["finalizers"] = finalizers.Count > 0 ? finalizers : null;
            if (finalizers.Count == 0)
            {
                meta.Remove("finalizers");
            }

            meta["deletionTimestamp"] = Timestamp(time.GetUtcNow().AddSeconds(grace));
            meta["deletionGracePeriodSeconds"] = grace;
            if (type.TracksGeneration && meta["generation"] is not null)
            {
                meta["generation"] = (long)meta["generation"]! + 1;
            }

            return (WithVersion(type, store.Put(type.StorageKey, current)), false);
        }

        var removed = store.Remove(type.StorageKey, ns, name)!;
        AfterRemove(type, removed);
        return (WithVersion(type, removed), true);
    });

    /// <summary>The Eviction API: marks the pod with DisruptionTarget, then deletes it gracefully.</summary>
    public void Evict(ResourceType pods, string ns, string name, JsonObject? eviction) => store.Atomically(() =>
    {
        var pod = store.Get(pods.StorageKey, ns, name) ?? throw NotFound(pods, name);
        if (eviction?["metadata"]?["name"] is { } evictionName && (string?)evictionName != name)
        {
            throw ApiException.BadRequest($"name in URL does not match name in Eviction object");
        }

        if (pod["metadata"]?["deletionTimestamp"] is not null)
        {
            return;
        }

        var status = pod["status"] as JsonObject ?? new JsonObject();
        pod["status"] = status;
        if (status["conditions"] is not JsonArray conditions)
        {
            conditions = new JsonArray();
            status["conditions"] = conditions;
        }

        if (!conditions.Any(c => (string?)c?["type"] == "DisruptionTarget" && (string?)c?["status"] == "True"))
        {
            foreach (var old in conditions.Where(c => (string?)c?["type"] == "DisruptionTarget").ToList())
            {
                conditions.Remove(old);
            }

            conditions.Add(new JsonObject
            {
                ["type"] = "DisruptionTarget",
                ["status"] = "True",
                ["lastProbeTime"] = null,
                ["lastTransitionTime"] = Now(),
                ["reason"] = "EvictionByEvictionAPI",
                ["message"] = "Eviction API: evicting",
            });
            store.Put(pods.StorageKey, pod);
        }

        var options = DeleteOptions.From(eviction?["deleteOptions"] as JsonObject, _ => null);
        Delete(pods, ns, name, options);
    });

    /// <summary>
    /// The pods/binding subresource (what the scheduler writes): sets spec.nodeName of a pod not yet assigned and its
    /// PodScheduled=True condition, as the real BindingREST does; a pod already assigned or being deleted is a conflict.
    /// </summary>
    public JsonObject Bind(string ns, string name, string? uid, string nodeName) => store.Atomically(() =>
    {
        var pods = BuiltinResources.Pods;
        var pod = store.Get(pods.StorageKey, ns, name) ?? throw NotFound(pods, name);
        var meta = Metadata(pod);
        if (uid is not null && uid != (string?)meta["uid"])
        {
            throw ApiException.Conflict(pods.GroupResource, name, pods.Group, pods.Plural,
                $"Precondition failed: UID in precondition: {uid}, UID in object meta: {(string?)meta["uid"]}");
        }

        if (meta["deletionTimestamp"] is not null)
        {
            throw ApiException.Conflict(pods.GroupResource, name, pods.Group, pods.Plural, $"pod {name} is being deleted, cannot be assigned to a host");
        }

        if ((string?)pod["spec"]?["nodeName"] is { Length: > 0 } assigned)
        {
            throw ApiException.Conflict(pods.GroupResource, name, pods.Group, pods.Plural, $"pod {name} is already assigned to node \"{assigned}\"");
        }

        pod["spec"]!["nodeName"] = nodeName;
        var status = pod["status"] as JsonObject ?? new JsonObject();
        pod["status"] = status;
        var conditions = status["conditions"] as JsonArray ?? new JsonArray();
        status["conditions"] = conditions;
        foreach (var old in conditions.Where(c => (string?)c?["type"] == "PodScheduled").ToList())
        {
            conditions.Remove(old);
        }

        conditions.Add(new JsonObject
        {
            ["type"] = "PodScheduled",
            ["status"] = "True",
            ["lastProbeTime"] = null,
            ["lastTransitionTime"] = Now(),
        });
        return WithVersion(pods, store.Put(pods.StorageKey, pod));
    });

    /// <summary>Removes a finished object: one whose deletion was pending and whose finalizers are all gone.</summary>
    public void RemoveIfFinalized(ResourceType type, JsonObject obj)
    {
        var meta = Metadata(obj);
        if (meta["deletionTimestamp"] is null || meta["finalizers"] is JsonArray { Count: > 0 })
        {
            return;
        }

        if (type.Kind == "Pod" && type.Group.Length == 0 && ((long?)meta["deletionGracePeriodSeconds"] ?? 0) > 0)
        {
            return; // the kubelet's final delete (grace 0) removes a terminating pod
        }

        if (type.Kind == "Namespace" && type.Group.Length == 0)
        {
            return; // the namespace controller removes a namespace once it is empty
        }

        var removed = store.Remove(type.StorageKey, (string?)meta["namespace"], (string)meta["name"]!);
        if (removed is not null)
        {
            AfterRemove(type, removed);
        }
    }

    public static JsonObject ParseObject(string text, bool yamlAllowed = false)
    {
        try
        {
            return JsonNode.Parse(text) as JsonObject ?? throw ApiException.BadRequest("the request body must be a JSON object");
        }
        catch (System.Text.Json.JsonException) when (yamlAllowed)
        {
            return YamlToJson.Parse(text) as JsonObject ?? throw ApiException.BadRequest("the request body must be an object");
        }
        catch (System.Text.Json.JsonException e)
        {
            throw ApiException.BadRequest($"error decoding the request body: {e.Message}");
        }
    }

    private static JsonArray ParseArray(string text)
    {
        try
        {
            return JsonNode.Parse(text) as JsonArray ?? throw ApiException.BadRequest("a JSON patch must be an array of operations");
        }
        catch (System.Text.Json.JsonException e)
        {
            throw ApiException.BadRequest($"error decoding the JSON patch: {e.Message}");
        }
    }

    private JsonObject UpdateFrom(ResourceType type, string? ns, string name, JsonObject current, JsonObject body, bool statusOnly, bool strict, bool dryRun)
    {
        var incoming = (JsonObject)body.DeepClone();
        CheckTypeMeta(type, incoming);
        var inMeta = Metadata(incoming);
        if ((string?)inMeta["name"] is { Length: > 0 } bodyName && bodyName != name)
        {
            throw ApiException.BadRequest($"the name of the object ({bodyName}) does not match the name on the URL ({name})");
        }

        if (type.Namespaced && (string?)inMeta["namespace"] is { Length: > 0 } bodyNs && bodyNs != ns)
        {
            throw ApiException.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
        }

        var curMeta = Metadata(current);
        if ((string?)inMeta["resourceVersion"] is { Length: > 0 } rv && rv != (string?)curMeta["resourceVersion"])
        {
            throw ApiException.StaleResourceVersion(type.GroupResource, name, type.Group, type.Plural);
        }

        if ((string?)inMeta["uid"] is { Length: > 0 } uid && uid != (string?)curMeta["uid"])
        {
            throw ApiException.Conflict(type.GroupResource, name, type.Group, type.Plural,
                $"Precondition failed: UID in precondition: {uid}, UID in object meta: {(string?)curMeta["uid"]}");
        }

        JsonObject next;
        if (statusOnly)
        {
            next = (JsonObject)current.DeepClone();
            if (incoming["status"] is { } status)
            {
                next["status"] = status.DeepClone();
            }
            else
            {
                next.Remove("status");
            }
        }
        else
        {
            next = incoming;
            var meta = Metadata(next);
            foreach (var field in new[] { "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation" })
            {
                if (curMeta[field] is { } value)
                {
                    meta[field] = value.DeepClone();
                }
                else
                {
                    meta.Remove(field);
                }
            }

            meta["name"] = name;
            if (type.Namespaced)
            {
                meta["namespace"] = ns;
            }

            meta.Remove("selfLink");
            meta.Remove("managedFields");
            if (type.HasStatus)
            {
                if (current["status"] is { } status)
                {
                    next["status"] = status.DeepClone();
                }
                else
                {
                    next.Remove("status");
                }
            }

            ValidateMeta(type, meta, checkName: false);
            if (curMeta["deletionTimestamp"] is not null && meta["finalizers"] is JsonArray newFinalizers)
            {
                var old = (curMeta["finalizers"] as JsonArray)?.Select(f => (string?)f).ToHashSet() ?? [];
                if (newFinalizers.Any(f => !old.Contains((string?)f)))
                {
                    throw ApiException.Invalid(type.QualifiedKind, name, type.Group, type.Kind,
                        [FieldError.Forbidden("metadata.finalizers", "no new finalizers can be added if the object is being deleted")]);
                }
            }

            if (meta["finalizers"] is JsonArray { Count: 0 })
            {
                meta.Remove("finalizers");
            }

            if (type.Kind == "CustomResourceDefinition" && type.Group == "apiextensions.k8s.io")
            {
                DefaultCrd(next);
                CrdRegistrar.Validate(next);
                next["status"] = CrdRegistrar.Status(next, time.GetUtcNow());
            }

            if (!type.IsCustom && type.Group.Length == 0)
            {
                admission.OnUpdate(type.Kind, next, current);
            }
        }

        Metadata(next)["resourceVersion"] = curMeta["resourceVersion"]?.DeepClone();
        AdmitCustom(type, next, strict);
        if (type.TracksGeneration && !statusOnly && SpecChanged(type, current, next))
        {
            Metadata(next)["generation"] = ((long?)curMeta["generation"] ?? 0) + 1;
        }

        next["apiVersion"] = current["apiVersion"]?.DeepClone();
        if (JsonNode.DeepEquals(next, current) || dryRun)
        {
            return WithVersion(type, dryRun ? next : current);
        }

        var stored = store.Put(type.StorageKey, next);
        AfterWrite(type, stored);
        RemoveIfFinalized(type, stored);
        return WithVersion(type, stored);
    }

    private static bool SpecChanged(ResourceType type, JsonObject current, JsonObject next)
    {
        static JsonObject Strip(JsonObject o, bool status)
        {
            var c = (JsonObject)o.DeepClone();
            c.Remove("metadata");
            c.Remove("apiVersion");
            c.Remove("kind");
            if (status)
            {
                c.Remove("status");
            }

            return c;
        }

        return !JsonNode.DeepEquals(Strip(current, type.HasStatus), Strip(next, type.HasStatus));
    }

    private void AdmitCustom(ResourceType type, JsonObject obj, bool strict)
    {
        if (!type.IsCustom || type.Schema is null)
        {
            return;
        }

        // Numbers as the server decodes a custom resource: one no float64 holds is a decoding error (400), not a field error.
        if (JsonNumbers.Normalize(obj) is [var outOfRange, ..])
        {
            throw ApiException.BadRequest(
                $"{type.Kind} in version \"{type.Version}\" cannot be handled as a {type.Kind}: json: cannot unmarshal number {outOfRange} into Go value of type float64");
        }

        var errors = StructuralSchema.Admit(obj, type.Schema, strict);
        var unknown = errors.Where(e => e.Reason == "FieldValueUnknown").ToList();
        if (unknown.Count > 0)
        {
            throw ApiException.BadRequest(
                $"{type.Kind} in version \"{type.Version}\" cannot be handled as a {type.Kind}: strict decoding error: "
                + string.Join(", ", unknown.Select(u => $"unknown field \"{u.Field}\"")));
        }

        if (errors.Count > 0)
        {
            throw ApiException.Invalid(type.QualifiedKind, (string?)obj["metadata"]?["name"] ?? "", type.Group, type.Kind, errors);
        }
    }

    private void AfterWrite(ResourceType type, JsonObject stored)
    {
        if (type.Kind == "CustomResourceDefinition" && type.Group == "apiextensions.k8s.io")
        {
            registry.RegisterCrd((string)stored["metadata"]!["name"]!, CrdRegistrar.TypesOf(stored));
        }
        else if (type.Kind == "Namespace" && type.Group.Length == 0 && (string?)stored["metadata"]?["resourceVersion"] is not null)
        {
            var ns = (string)stored["metadata"]!["name"]!;
            if (store.Get(BuiltinResources.ServiceAccounts.StorageKey, ns, "default") is null && stored["metadata"]?["deletionTimestamp"] is null)
            {
                store.Put(BuiltinResources.ServiceAccounts.StorageKey, new JsonObject
                {
                    ["kind"] = "ServiceAccount",
                    ["apiVersion"] = "v1",
                    ["metadata"] = new JsonObject
                    {
                        ["name"] = "default",
                        ["namespace"] = ns,
                        ["uid"] = Guid.NewGuid().ToString(),
                        ["creationTimestamp"] = Now(),
                    },
                });
            }
        }
    }

    private void AfterRemove(ResourceType type, JsonObject removed)
    {
        if (type.Kind == "CustomResourceDefinition" && type.Group == "apiextensions.k8s.io")
        {
            var name = (string)removed["metadata"]!["name"]!;
            var storageKey = $"{(string?)removed["spec"]?["group"]}/{(string?)removed["spec"]?["names"]?["plural"]}";
            foreach (var obj in store.List(storageKey, null).Items)
            {
                store.Remove(storageKey, (string?)obj["metadata"]?["namespace"], (string)obj["metadata"]!["name"]!);
            }

            registry.UnregisterCrd(name);
        }
    }

    private static void DefaultCrd(JsonObject crd)
    {
        if (crd["spec"] is JsonObject spec)
        {
            spec["conversion"] ??= new JsonObject { ["strategy"] = "None" };
            if (spec["names"] is JsonObject names)
            {
                names["singular"] ??= ((string?)names["kind"] ?? "").ToLowerInvariant();
                names["listKind"] ??= (string?)names["kind"] + "List";
            }
        }
    }

    private string? CheckNamespace(ResourceType type, string? ns, JsonObject meta)
    {
        if (!type.Namespaced)
        {
            meta.Remove("namespace");
            return null;
        }

        var bodyNs = (string?)meta["namespace"];
        if (!string.IsNullOrEmpty(bodyNs) && bodyNs != ns)
        {
            throw ApiException.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
        }

        meta["namespace"] = ns;
        var nsObj = store.Get(BuiltinResources.Namespaces.StorageKey, null, ns!)
            ?? throw ApiException.NotFound("namespaces", ns!, "", "namespaces");
        if (nsObj["metadata"]?["deletionTimestamp"] is not null)
        {
            throw ApiException.Forbidden(type.GroupResource, (string?)meta["name"] ?? "", type.Group, type.Plural,
                $"unable to create new content in namespace {ns} because it is being terminated");
        }

        return ns;
    }

    private static void CheckTypeMeta(ResourceType type, JsonObject obj)
    {
        if ((string?)obj["apiVersion"] is { Length: > 0 } apiVersion && apiVersion != type.ApiVersion)
        {
            var group = apiVersion.Contains('/', StringComparison.Ordinal) ? apiVersion[..apiVersion.IndexOf('/', StringComparison.Ordinal)] : "";
            if (group != type.Group)
            {
                throw ApiException.BadRequest($"the API version in the data ({apiVersion}) does not match the expected API version ({type.ApiVersion})");
            }
        }

        if ((string?)obj["kind"] is { Length: > 0 } kind && kind != type.Kind)
        {
            throw ApiException.BadRequest($"the kind in the data ({kind}) does not match the expected kind ({type.Kind})");
        }

        obj["apiVersion"] = type.ApiVersion;
        obj["kind"] = type.Kind;
    }

    /// <summary>ValidateObjectMeta as the kind's strategy runs it: the name (on create) and the labels and annotations.</summary>
    private static void ValidateMeta(ResourceType type, JsonObject meta, bool checkName)
    {
        var rule = type.Group.Length == 0 && !type.IsCustom
            ? type.Kind switch
            {
                "Namespace" => ObjectMetaValidation.NameRule.Label,
                "Service" => ObjectMetaValidation.NameRule.Dns1035Label,
                _ => ObjectMetaValidation.NameRule.Subdomain,
            }
            : ObjectMetaValidation.NameRule.Subdomain;
        var errors = ObjectMetaValidation.Validate(meta, rule, checkName && type.Kind != "CustomResourceDefinition");
        if (errors.Count > 0)
        {
            throw ApiException.Invalid(type.QualifiedKind, (string?)meta["name"] ?? "", type.Group, type.Kind, errors);
        }
    }

    private static JsonObject Metadata(JsonObject obj)
    {
        if (obj["metadata"] is not JsonObject meta)
        {
            meta = new JsonObject();
            obj["metadata"] = meta;
        }

        return meta;
    }

    /// <summary>Objects are stored once per resource; a read through another served version only relabels them.</summary>
    public static JsonObject WithVersion(ResourceType type, JsonObject obj)
    {
        obj["apiVersion"] = type.ApiVersion;
        obj["kind"] = type.Kind;
        return obj;
    }

    private static ApiException NotFound(ResourceType type, string name) =>
        ApiException.NotFound(type.GroupResource, name, type.Group, type.Plural);
}
