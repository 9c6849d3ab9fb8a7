using System.Text;
using System.Text.Json.Nodes;

namespace K8sTraining.LocalCluster.Api;

/// <summary>
/// Decodes the Kubernetes protobuf encoding (the "k8s\0" envelope around runtime.Unknown) for the few kinds kubectl's
/// typed commands send that way here (<c>kubectl create namespace|configmap|secret|serviceaccount</c>). Other kinds
/// are answered with 415, which these clients do not need.
/// </summary>
public static class ProtobufDecoder
{
    private enum K
    {
        String,
        Bytes,
        Int64,
        Bool,
        Time,
        Message,
        MapStringString,
        MapStringBytes,
        RepeatedString,
        RepeatedMessage,
    }

    private sealed record F(string Name, K Kind, Dictionary<int, F>? Sub = null);

    private static readonly Dictionary<int, F> OwnerReference = new()
    {
        [1] = new("kind", K.String), [3] = new("name", K.String), [4] = new("uid", K.String), [5] = new("apiVersion", K.String),
        [6] = new("controller", K.Bool), [7] = new("blockOwnerDeletion", K.Bool),
    };

    private static readonly Dictionary<int, F> ObjectMeta = new()
    {
        [1] = new("name", K.String), [2] = new("generateName", K.String), [3] = new("namespace", K.String),
        [5] = new("uid", K.String), [6] = new("resourceVersion", K.String), [7] = new("generation", K.Int64),
        [8] = new("creationTimestamp", K.Time), [11] = new("labels", K.MapStringString), [12] = new("annotations", K.MapStringString),
        [13] = new("ownerReferences", K.RepeatedMessage, OwnerReference), [14] = new("finalizers", K.RepeatedString),
    };

    private static readonly Dictionary<int, F> ObjectReference = new()
    {
        [1] = new("kind", K.String), [2] = new("namespace", K.String), [3] = new("name", K.String), [4] = new("uid", K.String),
        [5] = new("apiVersion", K.String),
    };

    private static readonly Dictionary<string, Dictionary<int, F>> Kinds = new(StringComparer.Ordinal)
    {
        ["ConfigMap"] = new()
        {
            [1] = new("metadata", K.Message, ObjectMeta), [2] = new("data", K.MapStringString),
            [3] = new("binaryData", K.MapStringBytes), [4] = new("immutable", K.Bool),
        },
        ["Secret"] = new()
        {
            [1] = new("metadata", K.Message, ObjectMeta), [2] = new("data", K.MapStringBytes), [3] = new("type", K.String),
            [4] = new("stringData", K.MapStringString), [5] = new("immutable", K.Bool),
        },
        ["Namespace"] = new()
        {
            [1] = new("metadata", K.Message, ObjectMeta),
            [2] = new("spec", K.Message, new() { [1] = new("finalizers", K.RepeatedString) }),
        },
        ["ServiceAccount"] = new()
        {
            [1] = new("metadata", K.Message, ObjectMeta), [2] = new("secrets", K.RepeatedMessage, ObjectReference),
            [3] = new("imagePullSecrets", K.RepeatedMessage, new() { [1] = new("name", K.String) }),
            [4] = new("automountServiceAccountToken", K.Bool),
        },
    };

    private static readonly byte[] Magic = "k8s\0"u8.ToArray();

    /// <summary>The object as JSON, or null when the envelope holds a kind this decoder does not know.</summary>
    public static JsonObject? TryDecode(byte[] body)
    {
        if (body.Length < Magic.Length || !body.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            return null;
        }

        var unknown = Fields(body.AsMemory(Magic.Length));
        var typeMeta = unknown.FirstOrDefault(f => f.Number == 1).Bytes;
        var raw = unknown.FirstOrDefault(f => f.Number == 2).Bytes;
        var tm = Fields(typeMeta);
        var apiVersion = Str(tm.FirstOrDefault(f => f.Number == 1).Bytes);
        var kind = Str(tm.FirstOrDefault(f => f.Number == 2).Bytes);
        if (!Kinds.TryGetValue(kind, out var schema))
        {
            return null;
        }

        var obj = Decode(raw, schema);
        obj["apiVersion"] = apiVersion;
        obj["kind"] = kind;
        return obj;
    }

    private static JsonObject Decode(ReadOnlyMemory<byte> data, Dictionary<int, F> schema)
    {
        var obj = new JsonObject();
        foreach (var (number, varint, bytes) in Fields(data))
        {
            if (!schema.TryGetValue(number, out var f))
            {
                continue;
            }

            switch (f.Kind)
            {
                case K.String when bytes.Length > 0:
                    // gogo-protobuf writes every optional string, empty ones too; JSON clients omit them.
                    obj[f.Name] = Str(bytes);
                    break;
                case K.Bytes:
                    obj[f.Name] = Convert.ToBase64String(bytes.Span);
                    break;
                case K.Int64:
                    obj[f.Name] = (long)varint;
                    break;
                case K.Bool:
                    obj[f.Name] = varint != 0;
                    break;
                case K.Time:
                    var seconds = (long)Fields(bytes).FirstOrDefault(x => x.Number == 1).Varint;
                    obj[f.Name] = seconds == 0 ? null : DateTimeOffset.FromUnixTimeSeconds(seconds).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
                    break;
                case K.Message:
                    obj[f.Name] = Decode(bytes, f.Sub!);
                    break;
                case K.MapStringString or K.MapStringBytes:
                    if (obj[f.Name] is not JsonObject map)
                    {
                        map = new JsonObject();
                        obj[f.Name] = map;
                    }

                    var entry = Fields(bytes);
                    var key = Str(entry.FirstOrDefault(x => x.Number == 1).Bytes);
                    var value = entry.FirstOrDefault(x => x.Number == 2).Bytes;
                    map[key] = f.Kind == K.MapStringString ? Str(value) : Convert.ToBase64String(value.Span);
                    break;
                case K.RepeatedString or K.RepeatedMessage:
                    if (obj[f.Name] is not JsonArray list)
                    {
                        list = new JsonArray();
                        obj[f.Name] = list;
                    }

                    list.Add(f.Kind == K.RepeatedString ? (JsonNode?)Str(bytes) : Decode(bytes, f.Sub!));
                    break;
            }
        }

        return obj;
    }

    private static string Str(ReadOnlyMemory<byte> bytes) => Encoding.UTF8.GetString(bytes.Span);

    private static List<(int Number, ulong Varint, ReadOnlyMemory<byte> Bytes)> Fields(ReadOnlyMemory<byte> data)
    {
        var result = new List<(int, ulong, ReadOnlyMemory<byte>)>();
        var span = data.Span;
        var i = 0;
        while (i < span.Length)
        {
            var key = ReadVarint(span, ref i);
            var number = (int)(key >> 3);
            switch ((int)(key & 7))
            {
                case 0:
                    result.Add((number, ReadVarint(span, ref i), ReadOnlyMemory<byte>.Empty));
                    break;
                case 1:
                    i += 8;
                    break;
                case 2:
                    var length = (int)ReadVarint(span, ref i);
                    if (length < 0 || i + length > span.Length)
                    {
                        throw ApiException.BadRequest("malformed protobuf body");
                    }

                    result.Add((number, 0, data.Slice(i, length)));
                    i += length;
                    break;
                case 5:
                    i += 4;
                    break;
                default:
                    throw ApiException.BadRequest("malformed protobuf body");
            }
        }

        return result;
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> span, ref int i)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (i >= span.Length)
            {
                throw ApiException.BadRequest("malformed protobuf body");
            }

            var b = span[i++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }

        throw ApiException.BadRequest("malformed protobuf body");
    }
}
