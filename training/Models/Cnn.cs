using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace K8sTraining.Training.Models;

/// <summary>
/// Two convolution blocks (conv, batch norm, ReLU, 2x2 max pool) and a dropout-regularised classifier: the "2 Conv +
/// pooling" family that reaches about 0.916 on Fashion-MNIST. Field names are checkpoint keys.
/// </summary>
public sealed class Cnn : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv1 = nn.Conv2d(1, 16, 3, padding: 1);
    private readonly BatchNorm2d bn1 = nn.BatchNorm2d(16);
    private readonly Conv2d conv2 = nn.Conv2d(16, 32, 3, padding: 1);
    private readonly BatchNorm2d bn2 = nn.BatchNorm2d(32);
    private readonly MaxPool2d pool = nn.MaxPool2d(2);
    private readonly Flatten flatten = nn.Flatten();
    private readonly Dropout dropout = nn.Dropout(0.25);
    private readonly Linear fc1 = nn.Linear(32 * 7 * 7, 128);
    private readonly Linear fc2 = nn.Linear(128, 10);

    public Cnn()
        : base(nameof(Cnn))
    {
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = pool.forward(nn.functional.relu(bn1.forward(conv1.forward(input))));
        x = pool.forward(nn.functional.relu(bn2.forward(conv2.forward(x))));
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
