using K8sTraining.Training.FineTuning;

namespace K8sTraining.Trainer.Tests.Unit.FineTuning;

[Trait("Category", "Unit")]
public sealed class WeightMatchingTests
{
    private static TensorSignature T(string name, string shape, string type = "Float32", bool parameter = true) =>
        new(name, shape.Length == 0 ? [] : shape.Split('x').Select(d => long.Parse(d, System.Globalization.CultureInfo.InvariantCulture)).ToArray(), type, parameter);

    // A 10-class cnn's tensors (the head last), and the same network with other heads or types.
    private static readonly TensorSignature[] Cnn10 =
    [
        T("conv1.weight", "16x1x3x3"), T("conv1.bias", "16"), T("bn1.weight", "16"), T("bn1.running_mean", "16", parameter: false),
        T("fc1.weight", "128x1568"), T("fc1.bias", "128"), T("fc2.weight", "10x128"), T("fc2.bias", "10"),
    ];

    private static TensorSignature[] WithHead(int classes) =>
        [.. Cnn10.Where(t => !t.Name.StartsWith("fc2", StringComparison.Ordinal)), T("fc2.weight", $"{classes}x128"), T("fc2.bias", $"{classes}")];

    public static TheoryData<string, TensorSignature[], TensorSignature[], string[], string[], int> Cases() => new()
    {
        // name, model, source, skipped, unused, loaded parameters
        { "same architecture: everything loads", Cnn10, Cnn10, [], [], 7 },
        { "10 -> 5 classes: the head keeps its fresh initialisation", WithHead(5), Cnn10, ["fc2.weight", "fc2.bias"], [], 5 },
        { "a model with a layer the source lacks: that layer is skipped", [.. Cnn10, T("fc3.weight", "5x10")], Cnn10, ["fc3.weight"], [], 7 },
        { "a source with a layer the model lacks: it is unused", WithHead(10)[..^2], Cnn10, [], ["fc2.weight", "fc2.bias"], 5 },
        { "another element type: skipped", [T("conv1.weight", "16x1x3x3", "Float64"), T("conv1.bias", "16")], Cnn10, ["conv1.weight"], ["bn1.weight", "bn1.running_mean", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"], 1 },
        { "another architecture: no parameter loads", [T("layers.0.weight", "512x784"), T("layers.0.bias", "512")], Cnn10, ["layers.0.weight", "layers.0.bias"], Cnn10.Select(t => t.Name).ToArray(), 0 },
        { "only a buffer matches: no parameter loads", [T("bn1.running_mean", "16", parameter: false), T("head.weight", "5x16")], Cnn10, ["head.weight"], Cnn10.Select(t => t.Name).Where(n => n != "bn1.running_mean").ToArray(), 0 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Match_Should_LoadOnlyTensorsOfTheSameNameShapeAndType_When_ComparedWithTheSource(string name, TensorSignature[] model, TensorSignature[] source, string[] skipped, string[] unused, int loadedParameters)
    {
        var match = WeightMatching.Match(model, source);

        Assert.True(skipped.SequenceEqual(match.Skipped.Select(s => s.Name)), $"{name}: skipped {string.Join(", ", match.Skipped.Select(s => s.Name))}");
        Assert.True(unused.SequenceEqual(match.Unused), $"{name}: unused {string.Join(", ", match.Unused)}");
        Assert.Equal(loadedParameters, match.LoadedParameters);
        Assert.Equal(model.Select(m => m.Name).Where(n => !skipped.Contains(n)), match.Loaded);
    }

    [Fact]
    public void Match_Should_SayBothShapes_When_TheHeadDiffers()
    {
        var match = WeightMatching.Match(WithHead(5), Cnn10);

        Assert.Equal("shape [5, 128], the source's [10, 128]", match.Skipped[0].Why);
    }
}
