using System.Security.Cryptography;
using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;
using K8sTraining.Training.Models;
using K8sTraining.Training.Options;
using TorchSharp;
using static TorchSharp.torch;

namespace K8sTraining.Trainer.Tests.Unit.Models;

[Trait("Category", "Unit")]
[Collection(TorchRandomCollection.Name)]
public sealed class ModelCatalogTests
{
    /// <summary>
    /// SHA-256 of the initial model.bin of the 1x28x28, 10-class mlp and cnn after torch.manual_seed(seed), recorded with
    /// ModelFactory.Create(name) before the models took their shape from the data: the same seed must keep giving the
    /// same initial weights (the published runs and the demo's accuracy depend on it).
    /// </summary>
    [Theory]
    [InlineData(ModelNames.Mlp, 42, "774106F0A104CB68D382B5FD2529381FDE2E90E60894E2CA252EFF09F1EBD0F8")]
    [InlineData(ModelNames.Mlp, 7, "CF7ECC0B9E75F95C4C9B4F06DBAA9639211394884FD7644191462565EAECDD7F")]
    [InlineData(ModelNames.Cnn, 42, "5F6BD6071BEC23310695096D2D74BBEE4E4EF48A038A465B09156DF8E261867A")]
    [InlineData(ModelNames.Cnn, 7, "FD8F07D5D877E595D5F2A850EF1E7EBB668E4672B2505169985A1F1E4D37E53C")]
    public void Create_Should_GiveTheInitialWeightsOfBefore_When_TheModelIsTheFashionMnistMlpOrCnn(string model, long seed, string expectedSha256)
    {
        torch.manual_seed(seed);
        using var created = ModelCatalog.Create(Options(model), new ShapedDataset([1, 28, 28], 10));

        Assert.Equal(expectedSha256, Convert.ToHexString(SHA256.HashData(CheckpointCodec.ModelBytes(created))));
    }

    public static TheoryData<string, string, int, int, int, int?, int> Shapes => new()
    {
        // model, --stem, channels, height, width, --num-classes, data's classes
        { ModelNames.Mlp, StemNames.Auto, 1, 28, 28, null, 10 },
        { ModelNames.Mlp, StemNames.Auto, 3, 32, 32, null, 7 },
        { ModelNames.Mlp, StemNames.Auto, 3, 20, 36, 12, 7 },
        { ModelNames.Cnn, StemNames.Auto, 1, 28, 28, null, 10 },
        { ModelNames.Cnn, StemNames.Auto, 3, 32, 32, null, 7 },
        { ModelNames.Cnn, StemNames.Auto, 1, 30, 18, 5, 2 },
        { ModelNames.ResNet18, StemNames.Auto, 1, 28, 28, null, 10 },
        { ModelNames.ResNet18, StemNames.Auto, 3, 32, 32, null, 7 },
        { ModelNames.ResNet18, StemNames.Auto, 3, 72, 72, null, 3 },
        { ModelNames.ResNet18, StemNames.Small, 1, 28, 28, 12, 10 },
        { ModelNames.ResNet18, StemNames.Small, 3, 32, 32, null, 2 },
        { ModelNames.ResNet18, StemNames.ImageNet, 1, 32, 32, null, 10 },
        { ModelNames.ResNet18, StemNames.ImageNet, 3, 32, 32, null, 7 },
        { ModelNames.ResNet34, StemNames.Small, 1, 28, 28, null, 10 },
        { ModelNames.ResNet34, StemNames.Small, 3, 32, 32, null, 7 },
        { ModelNames.ResNet34, StemNames.ImageNet, 1, 32, 32, null, 10 },
        { ModelNames.ResNet34, StemNames.ImageNet, 3, 32, 32, null, 7 },
        { ModelNames.ResNet50, StemNames.Small, 1, 28, 28, null, 10 },
        { ModelNames.ResNet50, StemNames.Small, 3, 32, 32, null, 7 },
        { ModelNames.ResNet50, StemNames.ImageNet, 1, 32, 32, null, 10 },
        { ModelNames.ResNet50, StemNames.ImageNet, 3, 32, 32, 12, 7 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Create_Should_ScoreEveryClassOfABatch_When_GivenTheDatasImages(string model, string stem, int channels, int height, int width, int? numClasses, int classes)
    {
        using var created = ModelCatalog.Create(Options(model, stem, numClasses), new ShapedDataset([channels, height, width], classes));
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        created.eval();

        var output = created.forward(torch.randn(2, channels, height, width));

        Assert.Equal([2, numClasses ?? classes], output.shape);
    }

    /// <summary>Training mode (batch statistics, dropout) and a backward pass, for one shape per kind of network (the deeper ResNets share resnet18's code).</summary>
    [Theory]
    [InlineData(ModelNames.Mlp, StemNames.Auto, 3, 32, 32)]
    [InlineData(ModelNames.Cnn, StemNames.Auto, 3, 32, 32)]
    [InlineData(ModelNames.ResNet18, StemNames.Small, 1, 28, 28)]
    [InlineData(ModelNames.ResNet18, StemNames.ImageNet, 3, 32, 32)]
    public void Create_Should_GiveEveryParameterAGradient_When_TrainedOnABatch(string model, string stem, int channels, int height, int width)
    {
        using var created = ModelCatalog.Create(Options(model, stem), new ShapedDataset([channels, height, width], 10));
        using var scope = NewDisposeScope();
        created.train();

        var output = created.forward(torch.randn(2, channels, height, width));
        output.sum().backward();

        Assert.Equal([2, 10], output.shape);
        Assert.All(created.named_parameters(), p => Assert.True(p.parameter.grad is not null, $"{p.name} has no gradient"));
    }

    [Fact]
    public void Create_Should_NameTheMlpAndCnnParametersAsBefore_When_TheShapeComesFromTheData()
    {
        using var mlp = ModelCatalog.Create(Options(ModelNames.Mlp), new ShapedDataset([3, 32, 32], 7));
        using var cnn = ModelCatalog.Create(Options(ModelNames.Cnn), new ShapedDataset([3, 32, 32], 7));

        Assert.Equal(["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"], mlp.state_dict().Keys);
        Assert.Equal(
            [
                "conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias", "conv2.weight", "conv2.bias", "bn2.weight", "bn2.bias",
                "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias",
                "bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked", "bn2.running_mean", "bn2.running_var", "bn2.num_batches_tracked",
            ],
            cnn.state_dict().Keys);
        Assert.Equal([32 * 8 * 8, 7], [cnn.state_dict()["fc1.weight"].shape[1], cnn.state_dict()["fc2.weight"].shape[0]]);
    }

    [Theory]
    [InlineData(ModelNames.ResNet18, 62, 122)]
    [InlineData(ModelNames.ResNet34, 110, 218)]
    [InlineData(ModelNames.ResNet50, 161, 320)]
    public void Create_Should_NameTheResNetsParametersAndBuffersAsTorchVisionDoes_When_ItIsAResNet(string model, int parameters, int entries)
    {
        using var created = ModelCatalog.Create(Options(model), new ShapedDataset([1, 28, 28], 10));

        var expected = TorchVisionStateDictKeys(model).ToList();
        Assert.Equal((parameters, entries), (created.named_parameters().Count(), expected.Count));
        Assert.Equal(expected.Where(k => !IsBuffer(k)), created.named_parameters().Select(p => p.name));
        Assert.Equal(expected.Order(StringComparer.Ordinal), created.state_dict().Keys.Order(StringComparer.Ordinal));
        Assert.Equal(created.named_parameters().Select(p => p.name).Concat(created.named_buffers().Select(b => b.name)).Order(StringComparer.Ordinal), created.state_dict().Keys.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData(ModelNames.ResNet18, StemNames.Small, 1, new long[] { 64, 1, 3, 3 })]
    [InlineData(ModelNames.ResNet18, StemNames.Small, 3, new long[] { 64, 3, 3, 3 })]
    [InlineData(ModelNames.ResNet18, StemNames.ImageNet, 1, new long[] { 64, 1, 7, 7 })]
    [InlineData(ModelNames.ResNet50, StemNames.ImageNet, 3, new long[] { 64, 3, 7, 7 })]
    public void Create_Should_FitTheFirstConvolutionToTheStemAndChannels_When_ItIsAResNet(string model, string stem, int channels, long[] expected)
    {
        using var created = ModelCatalog.Create(Options(model, stem), new ShapedDataset([channels, 32, 32], 10));

        Assert.Equal(expected, created.state_dict()["conv1.weight"].shape);
    }

    [Fact]
    public void Create_Should_GiveTheSameWeights_When_TheSeedIsTheSame()
    {
        byte[] Initial(long seed)
        {
            torch.manual_seed(seed);
            using var model = ModelCatalog.Create(Options(ModelNames.ResNet18, StemNames.Small), new ShapedDataset([1, 28, 28], 10));
            return CheckpointCodec.ModelBytes(model);
        }

        Assert.Equal(Initial(5), Initial(5));
        Assert.NotEqual(Initial(5), Initial(6));
    }

    [Theory]
    [InlineData("auto on 28 px", StemNames.Auto, 28, 28, ResNetStem.Small)]
    [InlineData("auto on 64 px", StemNames.Auto, 64, 64, ResNetStem.Small)]
    [InlineData("auto on 64x65 px", StemNames.Auto, 64, 65, ResNetStem.ImageNet)]
    [InlineData("auto on 224 px", StemNames.Auto, 224, 224, ResNetStem.ImageNet)]
    [InlineData("imagenet on 32 px", StemNames.ImageNet, 32, 32, ResNetStem.ImageNet)]
    [InlineData("small on 224 px", StemNames.Small, 224, 224, ResNetStem.Small)]
    [InlineData("small on 8 px", StemNames.Small, 8, 8, ResNetStem.Small)]
    public void ResolveStem_Should_PickTheStem_When_GivenTheFlagAndTheImageSize(string name, string stem, int height, int width, ResNetStem expected) =>
        Assert.True(expected == ModelCatalog.ResolveStem(stem, height, width), name);

    [Theory]
    [InlineData("--num-classes below the data's classes", ModelNames.ResNet18, StemNames.Auto, 5, null, new long[] { 1, 28, 28 }, 10, "--num-classes 5: the training data has 10 classes (labels 0 to 9), more than the model would predict; give --num-classes 10 or more")]
    [InlineData("--num-classes below the data's classes (mlp)", ModelNames.Mlp, StemNames.Auto, 2, null, new long[] { 1, 28, 28 }, 3, "--num-classes 2: the training data has 3 classes")]
    [InlineData("imagenet stem on 28 px", ModelNames.ResNet18, StemNames.ImageNet, null, null, new long[] { 1, 28, 28 }, 10, "--stem imagenet: the images are 28x28 pixels, smaller than the 32x32 the imagenet stem needs; give --stem small (or auto) for images this small, or --image-size 32 or more")]
    [InlineData("imagenet stem on 100x20 px", ModelNames.ResNet50, StemNames.ImageNet, null, null, new long[] { 3, 100, 20 }, 10, "--stem imagenet: the images are 100x20 pixels")]
    [InlineData("auto stem on 70x6 px", ModelNames.ResNet34, StemNames.Auto, null, null, new long[] { 3, 70, 6 }, 10, "--stem auto: the images are 70x6 pixels, smaller than the 32x32 the imagenet stem needs")]
    [InlineData("small stem on 6 px", ModelNames.ResNet18, StemNames.Small, null, null, new long[] { 1, 6, 6 }, 10, "--stem small: the images are 6x6 pixels, smaller than the 8x8 the small stem needs; give --image-size 8 or more")]
    [InlineData("cnn on 3 px", ModelNames.Cnn, StemNames.Auto, null, null, new long[] { 1, 3, 3 }, 10, "--model cnn: the images are 3x3 pixels, smaller than the 4x4 its two 2x2 pools need")]
    [InlineData("a stem for the mlp", ModelNames.Mlp, StemNames.Small, null, null, new long[] { 1, 28, 28 }, 10, "--stem small: only the ResNet models have a stem, not --model mlp")]
    [InlineData("a stem for the cnn", ModelNames.Cnn, StemNames.ImageNet, null, null, new long[] { 1, 28, 28 }, 10, "--stem imagenet: only the ResNet models have a stem, not --model cnn")]
    [InlineData("--in-channels unlike the data's", ModelNames.ResNet18, StemNames.Auto, null, 3, new long[] { 1, 28, 28 }, 10, "--in-channels 3: the synthetic data set gives 1-channel images; give --in-channels 1 or leave it out")]
    [InlineData("samples that are not images", ModelNames.Cnn, StemNames.Auto, null, null, new long[] { 784 }, 10, "--model cnn: the data set's samples are [784], not images of [channels, height, width]")]
    public void Create_Should_ThrowInvalidInputNamingTheFlagAndTheFix_When_TheFlagsAndTheDataDisagree(string name, string model, string stem, int? numClasses, int? inChannels, long[] sampleShape, int classes, string expected)
    {
        var options = Options(model, stem, numClasses) with { InChannels = inChannels };

        var e = Assert.Throws<InvalidInputException>(() => ModelCatalog.Create(options, new ShapedDataset(sampleShape, classes)));

        Assert.True(e.Message.Contains(expected, StringComparison.Ordinal), $"{name}: {e.Message}");
    }

    [Fact]
    public void Create_Should_PredictTheDatasClasses_When_NumClassesIsNotGiven()
    {
        var shape = ModelCatalog.ShapeOf(Options(ModelNames.ResNet18), new ShapedDataset([3, 48, 40], 7));

        Assert.Equal(new ModelShape(3, 48, 40, 7), shape);
        Assert.Equal(new ModelShape(3, 48, 40, 9), ModelCatalog.ShapeOf(Options(ModelNames.ResNet18, numClasses: 9), new ShapedDataset([3, 48, 40], 7)));
    }

    private static TrainerOptions Options(string model, string stem = StemNames.Auto, int? numClasses = null) =>
        OptionsParser.Parse(["--model", model, "--dataset", DatasetNames.Synthetic, "--stem", stem], _ => null) with { NumClasses = numClasses };

    private static bool IsBuffer(string key) => key.EndsWith(".running_mean", StringComparison.Ordinal) || key.EndsWith(".running_var", StringComparison.Ordinal) || key.EndsWith(".num_batches_tracked", StringComparison.Ordinal);

    /// <summary>The keys of PyTorch's torchvision.models.resnetNN().state_dict(), in its order.</summary>
    private static IEnumerable<string> TorchVisionStateDictKeys(string model)
    {
        static IEnumerable<string> BatchNorm(string prefix) =>
            [$"{prefix}.weight", $"{prefix}.bias", $"{prefix}.running_mean", $"{prefix}.running_var", $"{prefix}.num_batches_tracked"];

        var (blocks, convolutions) = model switch
        {
            ModelNames.ResNet18 => (new[] { 2, 2, 2, 2 }, 2),
            ModelNames.ResNet34 => ([3, 4, 6, 3], 2),
            _ => ([3, 4, 6, 3], 3),
        };
        var keys = new List<string> { "conv1.weight" };
        keys.AddRange(BatchNorm("bn1"));
        for (var layer = 1; layer <= 4; layer++)
        {
            for (var block = 0; block < blocks[layer - 1]; block++)
            {
                var prefix = $"layer{layer}.{block}";
                for (var c = 1; c <= convolutions; c++)
                {
                    keys.Add($"{prefix}.conv{c}.weight");
                    keys.AddRange(BatchNorm($"{prefix}.bn{c}"));
                }
                // The first block of a layer that changes the width or the stride projects the shortcut.
                if (block == 0 && (layer > 1 || convolutions == 3))
                {
                    keys.Add($"{prefix}.downsample.0.weight");
                    keys.AddRange(BatchNorm($"{prefix}.downsample.1"));
                }
            }
        }
        keys.AddRange(["fc.weight", "fc.bias"]);
        return keys;
    }
}
