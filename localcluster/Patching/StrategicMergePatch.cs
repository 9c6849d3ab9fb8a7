using System.Text.Json.Nodes;

namespace K8sTraining.LocalCluster.Patching;

/// <summary>
/// Strategic merge patch for built-in kinds: the patch strategies of the core API fields the clients here touch
/// (lists merged by key: containers/env/volumes by name, conditions by type, ownerReferences by uid, ports by port;
/// finalizers merged as a set) and the directives kubectl sends ($patch, $retainKeys, $setElementOrder,
/// $deleteFromPrimitiveList). Lists of other fields are replaced, as they are for fields without a patch strategy.
/// </summary>
public static class StrategicMergePatch
{
    private static readonly Dictionary<string, string> MergeKeys = new(StringComparer.Ordinal)
    {
        ["containers"] = "name",
        ["initContainers"] = "name",
        ["ephemeralContainers"] = "name",
        ["env"] = "name",
        ["volumes"] = "name",
        ["volumeMounts"] = "mountPath",
        ["volumeDevices"] = "devicePath",
        ["conditions"] = "type",
        ["ownerReferences"] = "uid",
        ["imagePullSecrets"] = "name",
        ["hostAliases"] = "ip",
        ["containerStatuses"] = "name",
        ["initContainerStatuses"] = "name",
        ["resourceClaims"] = "name",
    };

    private static readonly HashSet<string> MergedPrimitiveLists = new(StringComparer.Ordinal) { "finalizers" };

    public static JsonObject Apply(JsonObject original, JsonObject patch) =>
        MergeMap((JsonObject)original.DeepClone(), patch, []);

    private static JsonObject MergeMap(JsonObject target, JsonObject patch, IReadOnlyList<string> path)
    {
        if ((string?)patch["$patch"] == "replace")
        {
            var replaced = (JsonObject)patch.DeepClone();
            replaced.Remove("$patch");
            return StripDirectives(replaced);
        }

        if (patch["$retainKeys"] is JsonArray retain)
        {
            var keep = retain.Select(k => (string?)k).ToHashSet(StringComparer.Ordinal);
            foreach (var key in target.Select(kv => kv.Key).ToList())
            {
                if (!keep.Contains(key))
                {
                    target.Remove(key);
                }
            }
        }

        foreach (var (key, value) in patch)
        {
            if (key is "$patch" or "$retainKeys" || key.StartsWith("$setElementOrder/", StringComparison.Ordinal))
            {
                continue;
            }

            if (key.StartsWith("$deleteFromPrimitiveList/", StringComparison.Ordinal))
            {
                var field = key["$deleteFromPrimitiveList/".Length..];
                if (target[field] is JsonArray list && value is JsonArray remove)
                {
                    foreach (var item in list.Where(i => remove.Any(r => JsonNode.DeepEquals(r, i))).ToList())
                    {
                        list.Remove(item);
                    }
                }

                continue;
            }

            if (value is null)
            {
                target.Remove(key);
                continue;
            }

            var childPath = path.Append(key).ToList();
            switch (value)
            {
                case JsonObject po when (string?)po["$patch"] == "delete":
                    target.Remove(key);
                    break;
                case JsonObject po:
                    target[key] = MergeMap(target[key] as JsonObject ?? new JsonObject(), po, childPath);
                    break;
                case JsonArray pa:
                    target[key] = MergeList(target[key] as JsonArray, pa, key, path);
                    break;
                default:
                    target[key] = value.DeepClone();
                    break;
            }
        }

        return target;
    }

    private static JsonArray MergeList(JsonArray? target, JsonArray patch, string field, IReadOnlyList<string> parentPath)
    {
        if (patch.Any(i => i is JsonObject o && (string?)o["$patch"] == "replace"))
        {
            return new JsonArray(patch.Where(i => !(i is JsonObject o && o.ContainsKey("$patch"))).Select(i => StripDirectivesNode(i)).ToArray());
        }

        var mergeKey = MergeKeyFor(field, parentPath);
        if (mergeKey is null)
        {
            if (MergedPrimitiveLists.Contains(field))
            {
                var merged = target is null ? new JsonArray() : (JsonArray)target.DeepClone();
                foreach (var item in patch)
                {
                    if (!merged.Any(m => JsonNode.DeepEquals(m, item)))
                    {
                        merged.Add(item?.DeepClone());
                    }
                }

                return merged;
            }

            return new JsonArray(patch.Select(StripDirectivesNode).ToArray());
        }

        var result = target is null ? new JsonArray() : (JsonArray)target.DeepClone();
        foreach (var item in patch)
        {
            if (item is not JsonObject patchItem)
            {
                continue;
            }

            var keyValue = patchItem[mergeKey];
            var existing = result.OfType<JsonObject>().FirstOrDefault(e => JsonNode.DeepEquals(e[mergeKey], keyValue));
            if ((string?)patchItem["$patch"] == "delete")
            {
                if (existing is not null)
                {
                    result.Remove(existing);
                }

                continue;
            }

            if (existing is null)
            {
                result.Add(StripDirectives((JsonObject)patchItem.DeepClone()));
            }
            else
            {
                var index = result.IndexOf(existing);
                var merged = MergeMap((JsonObject)existing.DeepClone(), patchItem, parentPath.Append(field).ToList());
                result[index] = merged;
            }
        }

        return result;
    }

    private static string? MergeKeyFor(string field, IReadOnlyList<string> parentPath)
    {
        if (field == "ports")
        {
            // Container ports merge by containerPort, service ports by port.
            return parentPath.Count > 0 && parentPath[^1] == "spec" ? "port" : "containerPort";
        }

        return MergeKeys.GetValueOrDefault(field);
    }

    private static JsonNode? StripDirectivesNode(JsonNode? node) => node switch
    {
        JsonObject o => StripDirectives((JsonObject)o.DeepClone()),
        _ => node?.DeepClone(),
    };

    private static JsonObject StripDirectives(JsonObject o)
    {
        foreach (var key in o.Select(kv => kv.Key).Where(k => k.StartsWith('$')).ToList())
        {
            o.Remove(key);
        }

        foreach (var (key, value) in o.ToList())
        {
            if (value is JsonObject child)
            {
                o[key] = StripDirectives((JsonObject)child.DeepClone());
            }
            else if (value is JsonArray arr)
            {
                o[key] = new JsonArray(arr.Select(StripDirectivesNode).ToArray());
            }
        }

        return o;
    }
}
