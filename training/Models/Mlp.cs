using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace K8sTraining.Training.Models;

/// <summary>(C*H*W)-256-classes perceptron with ReLU; small enough for fast tests. Field names are checkpoint keys.</summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    private const int Hidden = 256;

    // Created in this order (flatten, fc1, fc2) so that a seed gives the same initial weights as before the shape
    // became a parameter: the initial bytes of a 1x28x28, 10-class mlp are pinned by a test.
    private readonly Flatten flatten;
    private readonly Linear fc1;
    private readonly Linear fc2;

    public Mlp(ModelShape shape)
        : base(nameof(Mlp))
    {
        flatten = nn.Flatten();
        fc1 = nn.Linear(shape.InputSize, Hidden);
        fc2 = nn.Linear(Hidden, shape.Classes);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var flat = flatten.forward(input);
        using var hidden = fc1.forward(flat);
        using var activated = nn.functional.relu(hidden);
        return fc2.forward(activated);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            flatten.Dispose();
            fc1.Dispose();
            fc2.Dispose();
        }
        base.Dispose(disposing);
    }
}
