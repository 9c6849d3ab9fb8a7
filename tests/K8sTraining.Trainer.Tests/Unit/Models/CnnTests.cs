using K8sTraining.Training.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace K8sTraining.Trainer.Tests.Unit.Models;

[Trait("Category", "Unit")]
public sealed class CnnTests
{
    [Fact]
    public void Forward_Should_GiveThePlainPathsOutputsBitForBit_When_TheImagesHaveTheSizeTheCnnWasBuiltFor()
    {
        using var cnn = new Cnn(ModelShape.FashionMnist);
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        cnn.eval();
        var input = torch.randn(4, 1, 28, 28, generator: new Generator(11));

        var output = cnn.forward(input);

        Assert.Equal(PlainPath(cnn, input).data<float>().ToArray(), output.data<float>().ToArray());
    }

    [Theory]
    [InlineData("16 px on a 28 px cnn (a first curriculum stage)", 28, 28, 16, 16)]
    [InlineData("24 px on a 28 px cnn", 28, 28, 24, 24)]
    [InlineData("the smallest image, 4 px", 28, 28, 4, 4)]
    [InlineData("larger than built for", 28, 28, 40, 36)]
    [InlineData("28 px on a 16 px cnn", 16, 16, 28, 28)]
    [InlineData("a size the pools round down", 28, 28, 19, 23)]
    public void Forward_Should_ScoreEveryClassAndGiveEveryParameterAGradient_When_TheImagesHaveAnotherSize(string name, int builtHeight, int builtWidth, int height, int width)
    {
        using var cnn = new Cnn(new ModelShape(1, builtHeight, builtWidth, 10));
        using var scope = NewDisposeScope();
        cnn.train();

        var output = cnn.forward(torch.randn(3, 1, height, width, generator: new Generator(5)));
        output.sum().backward();

        Assert.True(output.shape.SequenceEqual([3L, 10L]), $"{name}: [{string.Join(", ", output.shape)}]");
        Assert.All(cnn.named_parameters(), p => Assert.True(p.parameter.grad is { } grad && grad.abs().sum().item<float>() > 0, $"{name}: {p.name} has no gradient"));
    }

    [Fact]
    public void Forward_Should_AveragePoolTheFeaturesToTheBuiltGrid_When_TheImagesHaveAnotherSize()
    {
        using var cnn = new Cnn(ModelShape.FashionMnist);
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        cnn.eval();
        var input = torch.randn(2, 1, 16, 16, generator: new Generator(3));

        var output = cnn.forward(input);

        Assert.Equal(PlainPath(cnn, input, features => nn.functional.adaptive_avg_pool2d(features, [7, 7])).data<float>().ToArray(), output.data<float>().ToArray());
    }

    /// <summary>conv1, bn1, ReLU, pool, conv2, bn2, ReLU, pool, (<paramref name="resize"/>), fc1, ReLU, fc2 in eval mode (dropout is the identity).</summary>
    private static Tensor PlainPath(Cnn cnn, Tensor input, Func<Tensor, Tensor>? resize = null)
    {
        var modules = cnn.named_children().ToDictionary(c => c.name, c => c.module);
        Tensor Apply(string name, Tensor x) => ((nn.Module<Tensor, Tensor>)modules[name]).forward(x);
        var x = nn.functional.max_pool2d(nn.functional.relu(Apply("bn1", Apply("conv1", input))), 2);
        x = nn.functional.max_pool2d(nn.functional.relu(Apply("bn2", Apply("conv2", x))), 2);
        x = resize is null ? x : resize(x);
        x = Apply("fc1", x.flatten(1));
        return Apply("fc2", nn.functional.relu(x));
    }
}
