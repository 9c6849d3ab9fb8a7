using System.Collections.Concurrent;

namespace K8sTraining.Deploy.Tests.Support;

/// <summary>Each named value set rendered once per test run and shared by every test that reads it.</summary>
public static class Renders
{
    private static readonly ConcurrentDictionary<string, Lazy<Task<RenderedChart>>> Cache = new();

    public static Task<RenderedChart> OfAsync(string valueSetName) =>
        Cache.GetOrAdd(valueSetName, name => new Lazy<Task<RenderedChart>>(
            () => Helm.TemplateAsync(ValueSets.All[name]))).Value;
}
