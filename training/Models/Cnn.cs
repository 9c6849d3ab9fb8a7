using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace K8sTraining.Training.Models;

/// <summary>
/// Two convolution blocks (conv, batch norm, ReLU, 2x2 max pool) and a dropout-regularised classifier: the "2 Conv +
/// pooling" family that reaches about 0.916 on Fashion-MNIST. Any channel count and any image of at least 4x4 pixels
/// (the classifier reads 32 x H/4 x W/4 features of the shape it is built for, rounded down as the pools do). Images
/// of another size (a curriculum stage at 16 or 24 pixels of a network built for 28) are average-pooled to that grid
/// after the second pool, so one network trains at every size. Field names are checkpoint keys.
/// </summary>
public sealed class Cnn : nn.Module<Tensor, Tensor>
{
    /// <summary>The smallest height and width the two 2x2 pools leave a pixel of.</summary>
    public const int MinimumSize = 4;

    // Created in this order so that a seed gives the same initial weights as before the shape became a parameter: the
    // initial bytes of a 1x28x28, 10-class cnn are pinned by a test.
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Conv2d conv2;
    private readonly BatchNorm2d bn2;
    private readonly MaxPool2d pool;
    private readonly Flatten flatten;
    private readonly Dropout dropout;
    private readonly Linear fc1;
    private readonly Linear fc2;

    // The feature grid fc1 reads: (H/4, W/4) of the shape the network is built for. Not a module, not a checkpoint key.
    private readonly long[] featureGrid;

    public Cnn(ModelShape shape)
        : base(nameof(Cnn))
    {
        conv1 = nn.Conv2d(shape.Channels, 16, 3, padding: 1);
        bn1 = nn.BatchNorm2d(16);
        conv2 = nn.Conv2d(16, 32, 3, padding: 1);
        bn2 = nn.BatchNorm2d(32);
        pool = nn.MaxPool2d(2);
        flatten = nn.Flatten();
        dropout = nn.Dropout(0.25);
        fc1 = nn.Linear(32 * (shape.Height / 4) * (shape.Width / 4), 128);
        fc2 = nn.Linear(128, shape.Classes);
        featureGrid = [shape.Height / 4, shape.Width / 4];
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = pool.forward(nn.functional.relu(bn1.forward(conv1.forward(input))));
        x = pool.forward(nn.functional.relu(bn2.forward(conv2.forward(x))));
        if (x.shape[2] != featureGrid[0] || x.shape[3] != featureGrid[1])
        {
            // Parameter-free, and skipped at the built size so that its outputs stay bit for bit those of before.
            x = nn.functional.adaptive_avg_pool2d(x, featureGrid);
        }
        x = fc1.forward(dropout.forward(flatten.forward(x)));
        x = fc2.forward(dropout.forward(nn.functional.relu(x)));
        return x.MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var module in new nn.Module[] { conv1, bn1, conv2, bn2, pool, flatten, dropout, fc1, fc2 })
            {
                module.Dispose();
            }
        }
        base.Dispose(disposing);
    }
}
