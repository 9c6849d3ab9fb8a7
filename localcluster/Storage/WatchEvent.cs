using System.Text.Json.Nodes;

namespace K8sTraining.LocalCluster.Storage;

/// <summary>One change to one object: ADDED, MODIFIED or DELETED, with the state before it for selector transitions.</summary>
public sealed record WatchEvent(long ResourceVersion, string StorageKey, string Type, JsonObject Object, JsonObject? Previous);
