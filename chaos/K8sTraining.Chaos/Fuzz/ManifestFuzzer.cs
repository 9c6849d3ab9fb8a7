using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace K8sTraining.Chaos.Fuzz;

/// <summary>One fuzzed request body: the raw text sent, the name it asks for (null when it has none) and what was done to it.</summary>
public sealed record FuzzedManifest(string Body, string? Name, string Mutations);

/// <summary>
/// Random TrainingJob manifests for the API (§3 of issue 19): a valid base job with one to three mutations drawn from
/// the CRD's own schema (every property path it declares): random values of the right type, values of the wrong type,
/// nulls, huge strings, arrays and numbers, unknown fields, missing required fields, and now and then a broken body
/// (not JSON, not an object, another kind). Every choice comes from the one generator it is given, so a seed replays.
/// </summary>
public sealed class ManifestFuzzer
{
    /// <summary>The kinds of mutation, in the order they are drawn from.</summary>
    public static readonly IReadOnlyList<string> Kinds =
        ["value", "wrong-type", "null", "huge", "unknown-field", "remove", "bad-name", "broken-body"];

    private static readonly string[] Strings =
    [
        "", " ", "mlp", "cnn", "resnet18", "synthetic", "fashion-mnist", "adam", "sgd", "Always", "Never", "Wait", "Replace",
        "s3://bucket/prefix", "s3://", "not a uri", "-1", "1e400", "NaN", "\u2603\u00e9", "../../etc/passwd", "a\nb", "\t",
        "k8straining.test/script:1", "UPPER", "100m", "1Gi", "2Ti", "0.5", "abc:def", "$(FOO)", "null", "true", "{}",
        "1h", "2026-12-01T06:00:00Z",
    ];

    private static readonly string[] Numbers =
    [
        "0", "1", "-1", "2", "7", "65535", "65536", "2147483647", "2147483648", "-2147483649", "9223372036854775807",
        "9223372036854775808", "99999999999999999999", "1.5", "1.0", "-0", "1e3", "1e300", "0.1", "3.14159", "-1e-7",
    ];

    private readonly Random _random;
    private readonly IReadOnlyList<SchemaPath> _paths;
    private readonly string _apiVersion;
    private readonly string _kind;

    /// <param name="random">The suite's seeded generator.</param>
    /// <param name="specSchema">The openAPIV3Schema of spec in the CRD.</param>
    public ManifestFuzzer(Random random, JsonObject specSchema, string apiVersion, string kind)
    {
        _random = random;
        _apiVersion = apiVersion;
        _kind = kind;
        _paths = Walk(specSchema, ["spec"], 0).ToList();
    }

    /// <summary>Every property path the schema declares below spec ("[]" for an array's items).</summary>
    public IReadOnlyList<string> Paths => _paths.Select(p => string.Join('.', p.Segments)).ToList();

    /// <summary>The valid job every mutation starts from: a script that exits 0, so a job that is accepted and valid ends at once.</summary>
    public JsonObject Base(string ns, string name, string image) => new()
    {
        ["apiVersion"] = _apiVersion,
        ["kind"] = _kind,
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
        ["spec"] = new JsonObject
        {
            ["image"] = image,
            ["training"] = new JsonObject { ["model"] = "mlp", ["dataset"] = "synthetic" },
            ["terminationGracePeriodSeconds"] = 1,
            ["restartBackoffSeconds"] = 1,
            ["env"] = new JsonArray(new JsonObject { ["name"] = "TEST_SCRIPT", ["value"] = "exit 0" }),
        },
    };

    public FuzzedManifest Next(string ns, string name, string image)
    {
        var manifest = Base(ns, name, image);
        var done = new List<string>();
        var count = _random.Next(1, 4);
        string? askedName = name;
        for (var i = 0; i < count; i++)
        {
            var kind = Kinds[_random.Next(Kinds.Count)];
            switch (kind)
            {
                case "broken-body":
                    return new FuzzedManifest(BrokenBody(manifest, done), null, string.Join("; ", done));
                case "bad-name":
                    askedName = BadName();
                    manifest["metadata"]!["name"] = askedName;
                    done.Add($"metadata.name={Short(askedName)}");
                    break;
                default:
                    done.Add(Mutate(manifest, kind));
                    break;
            }
        }

        return new FuzzedManifest(manifest.ToJsonString(), askedName, string.Join("; ", done));
    }

    private string Mutate(JsonObject manifest, string kind)
    {
        var path = _paths[_random.Next(_paths.Count)];
        var at = string.Join('.', path.Segments);
        switch (kind)
        {
            case "value":
                var value = ValueOfType(path.Schema);
                Set(manifest, path.Segments, value);
                return $"{at}={Short(value?.ToJsonString())}";
            case "wrong-type":
                var wrong = WrongType((string?)path.Schema["type"]);
                Set(manifest, path.Segments, wrong);
                return $"{at}={Short(wrong?.ToJsonString())} (wrong type)";
            case "null":
                Set(manifest, path.Segments, null);
                return $"{at}=null";
            case "huge":
                var huge = Huge((string?)path.Schema["type"]);
                Set(manifest, path.Segments, huge);
                return $"{at}=<huge {(string?)path.Schema["type"] ?? "value"}, {huge.ToJsonString().Length} chars>";
            case "unknown-field":
                var field = "fuzz" + _random.Next(1000).ToString(CultureInfo.InvariantCulture);
                var parent = path.Segments.Take(_random.Next(1, path.Segments.Count + 1)).Where(s => s != "[]").ToList();
                if (Navigate(manifest, parent) is JsonObject o)
                {
                    o[field] = Scalar();
                    return $"{string.Join('.', parent)}.{field} (unknown field)";
                }

                manifest[field] = Scalar();
                return $"{field} (unknown top-level field)";
            default:
                var removed = _random.Next(4) == 0 ? ["spec"] : path.Segments.Where(s => s != "[]").ToList();
                if (Navigate(manifest, removed.SkipLast(1).ToList()) is JsonObject holder)
                {
                    holder.Remove(removed[^1]);
                }

                return $"{string.Join('.', removed)} removed";
        }
    }

    private string BrokenBody(JsonObject manifest, List<string> done)
    {
        var text = manifest.ToJsonString();
        switch (_random.Next(6))
        {
            case 0:
                done.Add("truncated body");
                return text[.._random.Next(1, text.Length)];
            case 1:
                done.Add("body is a JSON array");
                return "[" + text + "]";
            case 2:
                done.Add("kind is another kind");
                manifest["kind"] = "Pod";
                return manifest.ToJsonString();
            case 3:
                done.Add("apiVersion of another version");
                manifest["apiVersion"] = "k8straining.io/v9";
                return manifest.ToJsonString();
            case 4:
                done.Add("not JSON");
                return "{spec: " + new string('x', _random.Next(1, 200)) + "}}";
            default:
                done.Add("body is a JSON string");
                return "\"" + new string('y', _random.Next(0, 50)) + "\"";
        }
    }

    private JsonNode? ValueOfType(JsonObject schema)
    {
        if (schema["enum"] is JsonArray values && values.Count > 0 && _random.Next(3) > 0)
        {
            return values[_random.Next(values.Count)]?.DeepClone();
        }

        return (string?)schema["type"] switch
        {
            "integer" => JsonNode.Parse(_random.Next(3) == 0 ? Numbers[_random.Next(Numbers.Length)] : _random.Next(-5, 100).ToString(CultureInfo.InvariantCulture)),
            "number" => JsonNode.Parse(Numbers[_random.Next(Numbers.Length)]),
            "boolean" => _random.Next(2) == 0,
            "string" => Strings[_random.Next(Strings.Length)],
            "array" => new JsonArray(schema["items"] is JsonObject items ? ValueOfType(items) : Scalar()),
            "object" => new JsonObject { ["fuzz"] = Scalar() },
            _ => Scalar(),
        };
    }

    private JsonNode? WrongType(string? type)
    {
        var choices = new List<Func<JsonNode?>>
        {
            () => Strings[_random.Next(Strings.Length)],
            () => JsonNode.Parse(Numbers[_random.Next(Numbers.Length)]),
            () => _random.Next(2) == 0,
            () => new JsonArray(Scalar(), Scalar()),
            () => new JsonObject { ["a"] = Scalar() },
        };
        var skip = type switch { "string" => 0, "integer" or "number" => 1, "boolean" => 2, "array" => 3, "object" => 4, _ => -1 };
        if (skip >= 0)
        {
            choices.RemoveAt(skip);
        }

        return choices[_random.Next(choices.Count)]();
    }

    private JsonNode Huge(string? type)
    {
        var size = _random.Next(4) == 0 ? _random.Next(200_000, 1_000_000) : _random.Next(5_000, 50_000);
        return type switch
        {
            "integer" or "number" => JsonNode.Parse(new StringBuilder().Append('9', Math.Min(size, 400)).ToString())!,
            "array" => new JsonArray(Enumerable.Range(0, Math.Min(size / 20, 20_000)).Select(i => (JsonNode?)new JsonObject { ["name"] = $"N{i}", ["value"] = "v" }).ToArray()),
            "object" => new JsonObject(Enumerable.Range(0, Math.Min(size / 20, 20_000)).Select(i => KeyValuePair.Create($"k{i}", (JsonNode?)"v"))),
            _ => new string('h', size),
        };
    }

    private JsonNode? Scalar() => _random.Next(4) switch
    {
        0 => Strings[_random.Next(Strings.Length)],
        1 => JsonNode.Parse(Numbers[_random.Next(Numbers.Length)]),
        2 => _random.Next(2) == 0,
        _ => null,
    };

    private string BadName() => _random.Next(5) switch
    {
        0 => "UpperCase",
        1 => "",
        2 => new string('n', 254),
        3 => "under_score",
        _ => "-dash",
    };

    /// <summary>Sets the value at the path, building objects (and a one-item array for "[]") on the way.</summary>
    private static void Set(JsonObject root, IReadOnlyList<string> segments, JsonNode? value)
    {
        JsonNode current = root;
        for (var i = 0; i < segments.Count; i++)
        {
            var last = i == segments.Count - 1;
            var segment = segments[i];
            var nextIsItems = !last && segments[i + 1] == "[]";
            if (segment == "[]")
            {
                continue;
            }

            if (current is not JsonObject o)
            {
                return;
            }

            if (last)
            {
                o[segment] = value;
                return;
            }

            if (nextIsItems)
            {
                var itemIsLast = i + 1 == segments.Count - 1;
                if (itemIsLast)
                {
                    o[segment] = new JsonArray(value);
                    return;
                }

                if (o[segment] is not JsonArray { Count: > 0 } array || array[0] is not JsonObject)
                {
                    o[segment] = array = new JsonArray(new JsonObject());
                }

                current = array[0]!;
                continue;
            }

            if (o[segment] is not JsonObject child)
            {
                o[segment] = child = new JsonObject();
            }

            current = child;
        }
    }

    private static JsonNode? Navigate(JsonObject root, IReadOnlyList<string> segments)
    {
        JsonNode? current = root;
        foreach (var s in segments)
        {
            current = current is JsonObject o ? o[s] : null;
        }

        return current;
    }

    private static IEnumerable<SchemaPath> Walk(JsonObject schema, List<string> at, int depth)
    {
        if (depth > 0)
        {
            yield return new SchemaPath(at, schema);
        }

        if (depth >= 6)
        {
            yield break;
        }

        if (schema["properties"] is JsonObject props)
        {
            foreach (var (name, child) in props)
            {
                if (child is JsonObject c)
                {
                    foreach (var p in Walk(c, [.. at, name], depth + 1))
                    {
                        yield return p;
                    }
                }
            }
        }

        if (schema["items"] is JsonObject items)
        {
            foreach (var p in Walk(items, [.. at, "[]"], depth + 1).Skip(1))
            {
                yield return p;
            }
        }
    }

    private static string Short(string? text) => text is null ? "null" : text.Length <= 60 ? text : text[..60] + $"...({text.Length} chars)";

    private sealed record SchemaPath(IReadOnlyList<string> Segments, JsonObject Schema);
}
