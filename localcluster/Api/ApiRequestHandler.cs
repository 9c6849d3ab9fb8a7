using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using K8sTraining.LocalCluster.Api.Faults;
using K8sTraining.LocalCluster.Audit;
using K8sTraining.LocalCluster.Resources;
using K8sTraining.LocalCluster.Selectors;
using K8sTraining.LocalCluster.Storage;
using K8sTraining.LocalCluster.Tables;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace K8sTraining.LocalCluster.Api;

/// <summary>Turns HTTP requests into discovery answers and resource operations, the way kube-apiserver's handlers do.</summary>
public sealed class ApiRequestHandler(ResourceOperations ops, AuditLog audit, TimeProvider time, ApiServerSettings settings, ApiFaults faults, InFlightRequests inFlight, ILogger<ApiRequestHandler> logger)
{
    private ObjectStore Store => ops.Store;

    private ResourceRegistry Registry => ops.Registry;

    public async Task HandleAsync(HttpContext ctx)
    {
        var path = ctx.Request.Path.Value ?? "/";
        if (path.TrimEnd('/') is "/healthz" or "/readyz" or "/livez")
        {
            ctx.Response.ContentType = "text/plain";
            await ctx.Response.WriteAsync("ok", ctx.RequestAborted);
            return;
        }

        using var serving = inFlight.Begin(ctx.Request.Method, path + ctx.Request.QueryString, ctx.Request.Headers.UserAgent.ToString(), time.GetUtcNow());
        var info = RequestInfo.Parse(path);
        var verb = "";
        var code = 200;
        try
        {
            if (info.Kind != RequestInfo.ResourceRequest)
            {
                verb = ctx.Request.Method.ToLowerInvariant();
                await WriteJsonAsync(ctx, 200, NonResource(ctx, info, path));
                return;
            }

            var type = Registry.Find(info.Group, info.Version, info.Resource) ?? throw ApiException.NotFoundPath();
            if ((info.Namespace is not null && !type.Namespaced) || (info.Subresource is { } sub && !SubresourceExists(type, sub)))
            {
                throw ApiException.NotFoundPath();
            }

            if (type.Namespaced && info.Namespace is null && info.Name is not null)
            {
                throw ApiException.NotFoundPath();
            }

            verb = VerbOf(ctx, info);
            if (faults.ForRequest(ctx.Request.Headers.UserAgent.ToString(), verb, type, info.Name) is { } injected)
            {
                throw injected;
            }

            code = await ServeResourceAsync(ctx, info, type, verb);
        }
        catch (ApiException e)
        {
            code = e.Code;
            if (!ctx.Response.HasStarted)
            {
                if (e.Details?["retryAfterSeconds"] is { } retryAfter)
                {
                    // As the apiserver's response writer: a Status with details.retryAfterSeconds also says it in the header.
                    ctx.Response.Headers.RetryAfter = retryAfter.ToJsonString();
                }

                await WriteJsonAsync(ctx, e.Code, e.ToStatus());
            }
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
            code = 499;
        }
        catch (Exception e)
        {
            code = 500;
            logger.LogError(e, "{Method} {Path} failed", ctx.Request.Method, path);
            if (!ctx.Response.HasStarted)
            {
                await WriteJsonAsync(ctx, 500, Status.Failure(500, "InternalError", $"Internal error occurred: {e.Message}", new JsonObject()));
            }
        }
        finally
        {
            audit.Append(new AuditEntry(time.GetUtcNow(), verb, info.Group, info.Version, info.Resource, info.Subresource ?? "",
                info.Namespace ?? "", info.Name ?? "", code, ctx.Request.Headers.UserAgent.ToString(), path));
        }
    }

    private static bool SubresourceExists(ResourceType type, string sub) =>
        (sub == "status" && type.HasStatus) || (sub is "eviction" or "log" or "binding" && type == BuiltinResources.Pods);

    private static string VerbOf(HttpContext ctx, RequestInfo info)
    {
        var q = ctx.Request.Query;
        return ctx.Request.Method switch
        {
            "GET" when info.Name is null => info.WatchPrefix || q["watch"] is ["true" or "1"] ? "watch" : "list",
            "GET" => info.WatchPrefix ? "watch" : "get",
            "POST" => "create",
            "PUT" => "update",
            "PATCH" => "patch",
            "DELETE" when info.Name is null => "deletecollection",
            "DELETE" => "delete",
            _ => throw ApiException.MethodNotAllowed(),
        };
    }

    private JsonObject NonResource(HttpContext ctx, RequestInfo info, string path)
    {
        if (ctx.Request.Method != "GET")
        {
            throw ApiException.MethodNotAllowed();
        }

        switch (info.Kind)
        {
            case "api":
                return DiscoveryDocuments.ApiVersions($"{ctx.Request.Host.Host}:{ctx.Request.Host.Port}");
            case "apis":
                return DiscoveryDocuments.GroupList(Registry);
            case "group":
                return DiscoveryDocuments.GroupDocument(Registry, info.Group) ?? throw ApiException.NotFoundPath();
            case "core-resources":
                return DiscoveryDocuments.ResourceList(Registry, "", info.Version) ?? throw ApiException.NotFoundPath();
            case "group-resources":
                return DiscoveryDocuments.ResourceList(Registry, info.Group, info.Version) ?? throw ApiException.NotFoundPath();
        }

        var trimmed = path.TrimEnd('/');
        if (trimmed == "/version")
        {
            return DiscoveryDocuments.Version();
        }

        if (trimmed == "/openapi/v3")
        {
            return DiscoveryDocuments.OpenApiRoot(Registry);
        }

        if (trimmed.StartsWith("/openapi/v3/", StringComparison.Ordinal))
        {
            var parts = trimmed["/openapi/v3/".Length..].Split('/');
            var doc = parts switch
            {
                ["api", var v] => DiscoveryDocuments.OpenApiGroupVersion(Registry, "", v),
                ["apis", var g, var v] => DiscoveryDocuments.OpenApiGroupVersion(Registry, g, v),
                _ => null,
            };
            return doc ?? throw ApiException.NotFoundPath();
        }

        throw ApiException.NotFoundPath();
    }

    private async Task<int> ServeResourceAsync(HttpContext ctx, RequestInfo info, ResourceType type, string verb)
    {
        var q = ctx.Request.Query;
        var ns = type.Namespaced ? info.Namespace : null;
        var strict = q["fieldValidation"] is ["Strict"];
        var dryRun = q["dryRun"].Count > 0;
        switch (verb)
        {
            case "get" when info.Subresource == "log":
                await WriteLogAsync(ctx, ops.Get(type, ns, info.Name!));
                return 200;
            case "get":
            {
                var obj = ops.Get(type, ns, info.Name!);
                await WriteJsonAsync(ctx, 200, Render(ctx, type, [obj], single: true));
                return 200;
            }

            case "list":
                await WriteJsonAsync(ctx, 200, List(ctx, type, ns));
                return 200;
            case "watch":
                await WatchAsync(ctx, type, ns, info.Name);
                return 200;
            case "create" when info.Subresource == "eviction":
            {
                var body = await ReadBodyAsync(ctx);
                var eviction = body.Length == 0 ? null : ResourceOperations.ParseObject(body);
                ops.Evict(type, ns!, info.Name!, eviction);
                await WriteJsonAsync(ctx, 201, Status.Success(201, null));
                return 201;
            }

            case "create" when info.Subresource == "binding":
            {
                var binding = ResourceOperations.ParseObject(await ReadBodyAsync(ctx));
                var target = (string?)binding["target"]?["name"] is { Length: > 0 } t ? t
                    : throw ApiException.Invalid("Binding", info.Name!, "", "Binding", [FieldError.Required("target.name", "")]);
                ops.Bind(ns!, info.Name!, (string?)binding["metadata"]?["uid"], target);
                await WriteJsonAsync(ctx, 201, Status.Success(201, null));
                return 201;
            }

            case "create" when info.Name is not null:
                throw ApiException.MethodNotAllowed();
            case "create":
            {
                var created = ops.Create(type, ns, ResourceOperations.ParseObject(await ReadBodyAsync(ctx), yamlAllowed: true), strict, dryRun);
                await WriteJsonAsync(ctx, 201, created);
                return 201;
            }

            case "update":
            {
                var updated = ops.Update(type, ns, info.Name!, ResourceOperations.ParseObject(await ReadBodyAsync(ctx), yamlAllowed: true),
                    info.Subresource == "status", strict, dryRun);
                await WriteJsonAsync(ctx, 200, updated);
                return 200;
            }

            case "patch":
            {
                var patched = ops.Patch(type, ns, info.Name!, ctx.Request.ContentType ?? "", await ReadBodyAsync(ctx),
                    info.Subresource == "status", strict, dryRun);
                await WriteJsonAsync(ctx, 200, patched);
                return 200;
            }

            case "delete":
            {
                var options = await DeleteOptionsAsync(ctx);
                var (obj, deleted) = ops.Delete(type, ns, info.Name!, options);
                var returnObject = !deleted || type == BuiltinResources.Pods || type.IsCustom;
                await WriteJsonAsync(ctx, 200, returnObject ? obj : Status.Success(200, new JsonObject
                {
                    ["name"] = info.Name,
                    ["group"] = type.Group,
                    ["kind"] = type.Plural,
                    ["uid"] = obj["metadata"]?["uid"]?.DeepClone(),
                }));
                return 200;
            }

            case "deletecollection":
            {
                var options = await DeleteOptionsAsync(ctx);
                var (items, _) = Filter(ctx, type, ns);
                foreach (var item in items)
                {
                    try
                    {
                        ops.Delete(type, (string?)item["metadata"]?["namespace"], (string)item["metadata"]!["name"]!, options);
                    }
                    catch (ApiException e) when (e.Code == 404)
                    {
                        // deleted meanwhile
                    }
                }

                var list = ListDocument(type, items, Store.CurrentResourceVersion, null);
                await WriteJsonAsync(ctx, 200, list);
                return 200;
            }

            default:
                throw ApiException.MethodNotAllowed();
        }
    }

    /// <summary>pods/log from the node agent's log files (no follow: what has been written so far).</summary>
    private async Task WriteLogAsync(HttpContext ctx, JsonObject pod)
    {
        var name = (string)pod["metadata"]!["name"]!;
        var containers = (pod["spec"]?["containers"] as JsonArray)?.Select(c => (string?)c?["name"] ?? "").ToList() ?? [];
        var container = ctx.Request.Query["container"].ToString();
        if (container.Length == 0)
        {
            container = containers.Count == 1
                ? containers[0]
                : throw ApiException.BadRequest($"a container name must be specified for pod {name}, choose one of: [{string.Join(" ", containers)}]");
        }

        if (!containers.Contains(container))
        {
            throw ApiException.BadRequest($"container {container} is not valid for pod {name}");
        }

        var status = (pod["status"]?["containerStatuses"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(c => (string?)c["name"] == container);
        var restarts = (int?)status?["restartCount"] ?? 0;
        if (ctx.Request.Query["previous"] is ["true"])
        {
            restarts--;
        }

        var file = settings.NodesRoot is null || restarts < 0 || (string?)pod["spec"]?["nodeName"] is not { Length: > 0 } node
            ? null
            : Path.Combine(settings.NodesRoot, node, "pods", $"{(string?)pod["metadata"]?["namespace"]}_{name}_{(string?)pod["metadata"]?["uid"]}", "containers", container, $"{restarts}.log");
        if (file is null || !File.Exists(file))
        {
            throw ApiException.BadRequest($"container \"{container}\" in pod \"{name}\" is waiting to start: ContainerCreating");
        }

        string text;
        await using (var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        using (var reader = new StreamReader(stream))
        {
            text = await reader.ReadToEndAsync(ctx.RequestAborted);
        }

        if (ctx.Request.Query["tailLines"] is [{ } tail] && int.TryParse(tail, NumberStyles.Integer, CultureInfo.InvariantCulture, out var lines) && lines >= 0)
        {
            var all = text.Split('\n');
            var keep = all.Length > 0 && all[^1].Length == 0 ? all[..^1] : all;
            text = string.Join('\n', keep.TakeLast(lines)) + (keep.Length > 0 && lines > 0 ? "\n" : "");
        }

        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "text/plain";
        await ctx.Response.WriteAsync(text, ctx.RequestAborted);
    }

    private static async Task<DeleteOptions> DeleteOptionsAsync(HttpContext ctx)
    {
        var body = await ReadBodyAsync(ctx);
        var json = string.IsNullOrWhiteSpace(body) ? null : ResourceOperations.ParseObject(body);
        return DeleteOptions.From(json, k => ctx.Request.Query.TryGetValue(k, out var v) ? v.ToString() : null);
    }

    private (List<JsonObject> Items, long ResourceVersion) Filter(HttpContext ctx, ResourceType type, string? ns)
    {
        var labels = LabelSelector.Parse(ctx.Request.Query["labelSelector"]);
        var fields = FieldSelector.Parse(ctx.Request.Query["fieldSelector"]);
        var (items, rv) = Store.List(type.StorageKey, ns);
        return (items.Where(o => labels.Matches(o) && fields.Matches(o)).Select(o => ResourceOperations.WithVersion(type, o)).ToList(), rv);
    }

    private JsonObject List(HttpContext ctx, ResourceType type, string? ns)
    {
        var (items, rv) = Filter(ctx, type, ns);
        string? next = null;
        var q = ctx.Request.Query;
        if (q["continue"] is [{ Length: > 0 } token])
        {
            string after;
            try
            {
                after = Encoding.UTF8.GetString(Convert.FromBase64String(token));
            }
            catch (FormatException)
            {
                throw ApiException.BadRequest("continue key is not valid: illegal base64 data");
            }

            items = items.Where(o => string.CompareOrdinal(ObjectStore.KeyOf((string?)o["metadata"]?["namespace"], (string)o["metadata"]!["name"]!), after) > 0).ToList();
        }

        long? remaining = null;
        if (q["limit"] is [{ } limitText] && int.TryParse(limitText, NumberStyles.Integer, CultureInfo.InvariantCulture, out var limit) && limit > 0 && items.Count > limit)
        {
            remaining = items.Count - limit;
            items = items.Take(limit).ToList();
            var last = items[^1];
            next = Convert.ToBase64String(Encoding.UTF8.GetBytes(ObjectStore.KeyOf((string?)last["metadata"]?["namespace"], (string)last["metadata"]!["name"]!)));
        }

        if (WantsTable(ctx))
        {
            var table = TableConverter.Convert(type, items, IncludeObject(ctx), rv, time.GetUtcNow());
            if (next is not null)
            {
                table["metadata"]!["continue"] = next;
                table["metadata"]!["remainingItemCount"] = remaining;
            }

            return table;
        }

        if (WantsPartialMetadata(ctx))
        {
            return new JsonObject
            {
                ["kind"] = "PartialObjectMetadataList",
                ["apiVersion"] = "meta.k8s.io/v1",
                ["metadata"] = ListMeta(rv, next, remaining),
                ["items"] = new JsonArray(items.Select(i => (JsonNode?)TableConverter.PartialObjectMetadata(i)).ToArray()),
            };
        }

        return ListDocument(type, items, rv, next, remaining);
    }

    private static JsonObject ListMeta(long rv, string? next, long? remaining)
    {
        var meta = new JsonObject { ["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture) };
        if (next is not null)
        {
            meta["continue"] = next;
            meta["remainingItemCount"] = remaining;
        }

        return meta;
    }

    private static JsonObject ListDocument(ResourceType type, List<JsonObject> items, long rv, string? next, long? remaining = null) => new()
    {
        ["kind"] = type.ListKind,
        ["apiVersion"] = type.ApiVersion,
        ["metadata"] = ListMeta(rv, next, remaining),
        ["items"] = new JsonArray(items.Select(i => (JsonNode?)i).ToArray()),
    };

    private JsonObject Render(HttpContext ctx, ResourceType type, List<JsonObject> objects, bool single)
    {
        if (WantsTable(ctx))
        {
            return TableConverter.Convert(type, objects, IncludeObject(ctx), Store.CurrentResourceVersion, time.GetUtcNow());
        }

        if (single && WantsPartialMetadata(ctx))
        {
            return TableConverter.PartialObjectMetadata(objects[0]);
        }

        return objects[0];
    }

    private static bool WantsTable(HttpContext ctx) =>
        ctx.Request.Headers.Accept.ToString().Split(',').FirstOrDefault()?.Contains("as=Table", StringComparison.Ordinal) == true;

    private static bool WantsPartialMetadata(HttpContext ctx) =>
        ctx.Request.Headers.Accept.ToString().Split(',').FirstOrDefault()?.Contains("as=PartialObjectMetadata", StringComparison.Ordinal) == true;

    private static string IncludeObject(HttpContext ctx) =>
        ctx.Request.Query["includeObject"] is [{ Length: > 0 } v] ? v : "Metadata";

    private async Task WatchAsync(HttpContext ctx, ResourceType type, string? ns, string? name)
    {
        var q = ctx.Request.Query;
        var labels = LabelSelector.Parse(q["labelSelector"]);
        var fields = FieldSelector.Parse(q["fieldSelector"]);
        var bookmarks = q["allowWatchBookmarks"] is ["true" or "1"];
        var table = WantsTable(ctx);
        var includeObject = IncludeObject(ctx);
        var timeout = q["timeoutSeconds"] is [{ } ts] && int.TryParse(ts, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds) && seconds > 0
            ? TimeSpan.FromSeconds(seconds)
            : settings.DefaultWatchTimeout;
        var rvText = q["resourceVersion"].ToString();
        if (name is not null)
        {
            fields = FieldSelector.Parse(string.IsNullOrEmpty(q["fieldSelector"]) ? $"metadata.name={name}" : $"{q["fieldSelector"]},metadata.name={name}");
        }

        bool Matches(JsonObject? o) =>
            o is not null && (ns is null || (string?)o["metadata"]?["namespace"] == ns) && labels.Matches(o) && fields.Matches(o);

        ObjectStore.Subscription subscription;
        var initial = new List<JsonObject>();
        long startRv = 0;
        try
        {
            if (rvText is "" or "0")
            {
                subscription = Store.Atomically(() =>
                {
                    var (items, rv) = Store.List(type.StorageKey, ns);
                    initial.AddRange(items.Where(Matches));
                    startRv = rv;
                    return Store.Subscribe(type.StorageKey, rv);
                });
            }
            else if (long.TryParse(rvText, NumberStyles.Integer, CultureInfo.InvariantCulture, out var from))
            {
                subscription = Store.Subscribe(type.StorageKey, from);
                startRv = from;
            }
            else
            {
                throw ApiException.BadRequest($"invalid resource version: {rvText}");
            }
        }
        catch (TooOldResourceVersionException e)
        {
            await StartStreamAsync(ctx);
            await WriteEventAsync(ctx, "ERROR", ApiException.Expired(e.Message).ToStatus());
            return;
        }

        using (subscription)
        {
            await StartStreamAsync(ctx);
            var first = true;
            JsonObject Shape(JsonObject o)
            {
                o = ResourceOperations.WithVersion(type, (JsonObject)o.DeepClone());
                if (!table)
                {
                    return o;
                }

                var t = TableConverter.Convert(type, [o], includeObject, long.Parse((string)o["metadata"]!["resourceVersion"]!, CultureInfo.InvariantCulture), time.GetUtcNow(), includeColumns: first);
                first = false;
                return t;
            }

            using var open = faults.WatchOpened(ctx.Request.Headers.UserAgent.ToString());
            var injected = faults.ForWatch(open.UserAgent, timeout);
            foreach (var o in initial)
            {
                if (injected?.DropEvent() != true)
                {
                    await WriteEventAsync(ctx, "ADDED", Shape(o));
                }
            }

            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, open.Ended);
            deadline.CancelAfter(injected?.Lifetime ?? timeout);
            var delayed = injected is { Delay.Ticks: > 0 };
            var reader = delayed
                ? DelayedWatchEvents.Delay(subscription.Channel.Reader, injected!.Delay, time, injected.Delayed, deadline.Token)
                : subscription.Channel.Reader;
            // The last change this watch has taken from the store: a delayed watch's bookmark must not pass changes it still holds.
            var lastTaken = startRv;
            var lastBookmark = time.GetUtcNow();
            try
            {
                while (!deadline.IsCancellationRequested)
                {
                    using var tick = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
                    if (bookmarks)
                    {
                        tick.CancelAfter(settings.BookmarkInterval);
                    }

                    bool available;
                    try
                    {
                        available = await reader.WaitToReadAsync(tick.Token);
                    }
                    catch (OperationCanceledException) when (!deadline.IsCancellationRequested)
                    {
                        available = false;
                    }

                    if (!available && reader.Completion.IsCompleted)
                    {
                        break;
                    }

                    while (reader.TryRead(out var e))
                    {
                        lastTaken = e.ResourceVersion;
                        var now = Matches(e.Object);
                        var before = e.Previous is not null && Matches(e.Previous);
                        var kind = e.Type switch
                        {
                            "ADDED" when now => "ADDED",
                            "MODIFIED" when now && before => "MODIFIED",
                            "MODIFIED" when now => "ADDED",
                            "MODIFIED" when before => "DELETED",
                            "DELETED" when before || now => "DELETED",
                            _ => null,
                        };
                        if (kind is not null && injected?.DropEvent() != true)
                        {
                            await WriteEventAsync(ctx, kind, Shape(e.Object));
                        }
                    }

                    if (bookmarks && time.GetUtcNow() - lastBookmark >= settings.BookmarkInterval)
                    {
                        var rv = delayed ? lastTaken : Store.Atomically(() => reader.Count == 0 ? Store.CurrentResourceVersion : (long?)null);
                        if (rv is { } bookmarkRv)
                        {
                            await WriteEventAsync(ctx, "BOOKMARK", new JsonObject
                            {
                                ["kind"] = type.Kind,
                                ["apiVersion"] = type.ApiVersion,
                                ["metadata"] = new JsonObject
                                {
                                    ["resourceVersion"] = bookmarkRv.ToString(CultureInfo.InvariantCulture),
                                    ["creationTimestamp"] = null,
                                },
                            });
                            lastBookmark = time.GetUtcNow();
                        }
                    }
                }
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                // timeoutSeconds elapsed or the client went away: the watch ends, as on a real server.
            }
            finally
            {
                if (injected is { ClosesEarly: true } && deadline.IsCancellationRequested && !ctx.RequestAborted.IsCancellationRequested && !open.Ended.IsCancellationRequested)
                {
                    injected.ClosedEarly();
                }

                await deadline.CancelAsync();
            }
        }
    }

    private static async Task StartStreamAsync(HttpContext ctx)
    {
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/json";
        ctx.Response.Headers.CacheControl = "no-cache, private";
        await ctx.Response.StartAsync(ctx.RequestAborted);
        await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
    }

    private static async Task WriteEventAsync(HttpContext ctx, string type, JsonObject obj)
    {
        var line = new JsonObject { ["type"] = type, ["object"] = obj }.ToJsonString() + "\n";
        await ctx.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(line), ctx.RequestAborted);
        await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
    }

    private static async Task<string> ReadBodyAsync(HttpContext ctx)
    {
        var mediaType = (ctx.Request.ContentType ?? "").Split(';')[0].Trim().ToLowerInvariant();
        using var buffer = new MemoryStream();
        await ctx.Request.Body.CopyToAsync(buffer, ctx.RequestAborted);
        if (mediaType.Contains("protobuf", StringComparison.Ordinal))
        {
            // kubectl's typed commands (create namespace/configmap/secret) send protobuf and do not fall back on 415.
            return (ProtobufDecoder.TryDecode(buffer.ToArray())
                ?? throw ApiException.UnsupportedMediaType(mediaType, ["application/json", "application/yaml"])).ToJsonString();
        }

        if (mediaType.Contains("cbor", StringComparison.Ordinal))
        {
            throw ApiException.UnsupportedMediaType(mediaType, ["application/json", "application/yaml"]);
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    public static async Task WriteJsonAsync(HttpContext ctx, int code, JsonObject body)
    {
        ctx.Response.StatusCode = code;
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(body.ToJsonString(), ctx.RequestAborted);
    }
}

/// <summary>Settings of the request handlers that tests tune.</summary>
/// <param name="NodesRoot">The directory holding each in-process node agent's directory (named after its node), where pods' logs are.</param>
public sealed record ApiServerSettings(TimeSpan BookmarkInterval, TimeSpan DefaultWatchTimeout, string? NodesRoot);
