namespace K8sTraining.Training.FineTuning;

/// <summary>A named tensor's signature: what decides whether a saved tensor loads into a model's.</summary>
/// <param name="Name">The checkpoint key (<c>fc2.weight</c>).</param>
/// <param name="Shape">Its dimensions.</param>
/// <param name="Type">Its element type.</param>
/// <param name="IsParameter">True for a parameter, false for a buffer (batch-norm statistics).</param>
public sealed record TensorSignature(string Name, IReadOnlyList<long> Shape, string Type, bool IsParameter = true);

/// <summary>A tensor of the new model that keeps its fresh initialisation, and why.</summary>
public sealed record SkippedTensor(string Name, string Why);

/// <summary>Which of the model's tensors load from the source and which keep their fresh initialisation.</summary>
/// <param name="Loaded">The model's tensors the source has with the same name, shape and type, in the model's order.</param>
/// <param name="Skipped">The model's other tensors, in the model's order.</param>
/// <param name="Unused">The source's tensors the model has no place for (the source's old head, say).</param>
/// <param name="LoadedParameters">How many of <paramref name="Loaded"/> are parameters.</param>
public sealed record WeightMatch(IReadOnlyList<string> Loaded, IReadOnlyList<SkippedTensor> Skipped, IReadOnlyList<string> Unused, int LoadedParameters);

/// <summary>
/// Fine-tuning's rule: a tensor of the new model loads from the source when the source has one of the same name, shape
/// and element type; any other keeps its fresh initialisation (a head of another class count: fc2.weight, fc2.bias).
/// A pure function of the two signatures.
/// </summary>
public static class WeightMatching
{
    public static WeightMatch Match(IReadOnlyList<TensorSignature> model, IReadOnlyList<TensorSignature> source)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(source);
        var byName = new Dictionary<string, TensorSignature>(StringComparer.Ordinal);
        foreach (var s in source)
        {
            byName[s.Name] = s;
        }
        var loaded = new List<string>();
        var skipped = new List<SkippedTensor>();
        var loadedParameters = 0;
        foreach (var target in model)
        {
            if (!byName.TryGetValue(target.Name, out var saved))
            {
                skipped.Add(new SkippedTensor(target.Name, "not in the source"));
            }
            else if (!saved.Shape.SequenceEqual(target.Shape))
            {
                skipped.Add(new SkippedTensor(target.Name, $"shape {Shape(target.Shape)}, the source's {Shape(saved.Shape)}"));
            }
            else if (saved.Type != target.Type)
            {
                skipped.Add(new SkippedTensor(target.Name, $"type {target.Type}, the source's {saved.Type}"));
            }
            else
            {
                loaded.Add(target.Name);
                loadedParameters += target.IsParameter ? 1 : 0;
            }
        }
        var names = model.Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        var unused = source.Where(s => !names.Contains(s.Name)).Select(s => s.Name).ToList();
        return new WeightMatch(loaded, skipped, unused, loadedParameters);
    }

    /// <summary>A shape as messages write it: [5, 128].</summary>
    public static string Shape(IReadOnlyList<long> shape) => "[" + string.Join(", ", shape) + "]";
}
