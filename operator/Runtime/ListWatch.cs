using System.Text.Json;
using k8s;

namespace K8sTraining.Operator.Runtime;

/// <summary>What a list returned: its resourceVersion and every item still undecoded, so one bad item spoils nothing else.</summary>
public sealed record RawList(string ResourceVersion, IReadOnlyList<JsonElement> Items);

/// <summary>
/// How an informer reads one kind from the API server: a list, and a watch from a resourceVersion with a server-side
/// timeout, whose events come undecoded (ERROR events and broken lines go to the error callback).
/// </summary>
public sealed record ListWatch(
    Func<CancellationToken, Task<RawList>> List,
    Func<string, int, Action<Exception>, CancellationToken, IAsyncEnumerable<(WatchEventType Type, JsonElement Object)>> Watch);
